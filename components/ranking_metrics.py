"""The ranking metrics, on ranks: what the RankingEvaluator computes, and what the runner,
the report and the benchmarks read back and print. Plain NumPy, so that reading a result
loads neither TensorFlow nor TFX.
"""
from typing import Dict, Optional, Tuple

import numpy as np

from movielens import contract

# The scorers compared, in the order results list them: the model's two outputs (named
# as the serving contract names them) and the popularity baseline.
NEXT_MOVIE, POPULARITY = contract.NEXT_MOVIE_KEY, "popularity"
SCORERS = (NEXT_MOVIE, contract.PREDICTION_KEY, POPULARITY)


# --- The metrics, on ranks -----------------------------------------------------------------

def rank_of_true(scores: np.ndarray) -> np.ndarray:
  """[users, 1 + negatives] scores, the true movie first -> its 1-based rank per user.

  Ties count against the true movie: a model that scores everything alike ranks last.
  """
  return 1 + (scores[:, 1:] >= scores[:, :1]).sum(axis=1)


def hit_rate(ranks: np.ndarray, k: int) -> float:
  return float(np.mean(ranks <= k))


def ndcg(ranks: np.ndarray, k: int) -> float:
  """With one relevant movie the ideal DCG is 1, so NDCG@K is 1 / log2(1 + rank) in the top K."""
  return float(np.mean(np.where(ranks <= k, 1.0 / np.log2(1.0 + ranks), 0.0)))


def chance(negatives: int, k: int) -> Dict[str, float]:
  """What a random order scores on average: the true movie's rank is uniform over
  1 .. 1 + negatives."""
  ranks = np.arange(1, negatives + 2)
  return summarize(ranks, k)


def verdict(result: Dict[str, object]) -> str:
  """The next-movie score's HR@K against popularity's and chance's, in words."""
  k = result["k"]
  model, popularity = result[NEXT_MOVIE][f"hr@{k}"], result[POPULARITY][f"hr@{k}"]
  at_chance = chance(result["negatives"], k)[f"hr@{k}"]
  return (f"Ranked by its next-movie score, the model puts the next movie in its top {k} "
          f"{model:.1%} of the time: {model / at_chance:.2f} times chance ({at_chance:.1%}), "
          f"{model / popularity:.2f} times popularity ({popularity:.1%}).")


def summarize(ranks: np.ndarray, k: int) -> Dict[str, float]:
  return {f"hr@{k}": hit_rate(ranks, k), f"ndcg@{k}": ndcg(ranks, k),
          "mean_rank": float(ranks.mean())}


def event_order(timestamp: int, movie_id: int) -> Tuple[int, int]:
  """Sorts a user's events: by second, and of events at the same second by movie id, so
  that which comes first does not depend on the order in which Beam wrote the examples
  (ml-1m has such ties)."""
  return int(timestamp), int(movie_id)


def sample_negatives(known_movies: np.ndarray, rated: set, count: int,
                     rng: np.random.Generator) -> Optional[np.ndarray]:
  """`count` known movies the user never rated; None if there are not that many."""
  allowed = known_movies[~np.isin(known_movies, list(rated))]
  return rng.choice(allowed, size=count, replace=False) if len(allowed) >= count else None


def describe(result: Dict[str, object]) -> str:
  """The result in a few lines, the scorers side by side: what the runner and the
  benchmark print."""
  k = result["k"]
  line = lambda name, metrics: (f"  {name:<18} HR@{k} {metrics[f'hr@{k}']:.4f}  NDCG@{k} "
                                f"{metrics[f'ndcg@{k}']:.4f}  mean rank "
                                f"{metrics['mean_rank']:5.1f}")
  return "\n".join(
      [f"ranking, the next movie among {result['negatives']} unrated ones "
       f"({result['users']:,} users):"]
      + [line(scorer, result[scorer]) for scorer in SCORERS]
      + [line("chance", chance(result["negatives"], k))])

"""Benchmark: how well the next movie can be ranked at all, per generator choice strength.

    python -m benchmarks.choice_oracle [--scale 1] [--strengths 0,1,4]

The RankingEvaluator's protocol (each user's first eval event, its true movie among 100
known movies the user never rated, HR@10, NDCG@10, mean rank), scored straight from the
generator's own parameters, no model involved:

- popularity: training frequency, as the RankingEvaluator's baseline (ties count against
  the true movie);
- taste oracle: the log-weight with which the generator drew the user's movies
  (popularity + strength x taste): the best ranker that ignores the order of choices;
- taste and walk: that, plus how near the candidate lies to the user's last movie on the
  user's walk (a Gaussian of the noise the walk's order has): a lower bound of the full
  oracle, which would also know where the walk goes next.

Beside them, published numbers on real ml-1m under the same protocol (Kang and McAuley
2018, "Self-Attentive Sequential Recommendation", Table 3: 100 uniformly sampled
negatives, the last item): the generator's default strength was judged against them.
"""
from benchmarks import common  # first: the process environment

import argparse
import math
from typing import Dict, Sequence, Tuple

import numpy as np

from components import ranking_metrics as ranking
from movielens import conversion
from movielens import generate

# HR@10, NDCG@10 on real ml-1m (Kang and McAuley 2018, Table 3).
ML1M_PUBLISHED = {"PopRec": (0.4329, 0.2377), "BPR-MF": (0.5781, 0.3287),
                  "SASRec": (0.8245, 0.5905)}
NEGATIVES, K = 100, 10


def first_eval_positions(counts: np.ndarray, timestamps: np.ndarray, movie_ids: np.ndarray
                         ) -> Dict[int, Tuple[int, int]]:
  """user -> (train events, index of the first eval event) in the user's own sequence,
  split as the conversion's defaults split it, the first eval event chosen as the
  RankingEvaluator chooses it (ranking_metrics.event_order)."""
  starts = np.cumsum(counts) - counts
  positions = {}
  for user, (start, count) in enumerate(zip(starts, counts)):
    num_train, num_validation, num_eval = conversion.split_sizes(
        int(count), conversion.ConversionConfig.eval_fraction,
        conversion.ConversionConfig.validation_fraction)
    if not num_eval:
      continue
    first = min(range(num_train + num_validation, count), key=lambda row: ranking.event_order(
        timestamps[start + row], movie_ids[start + row]))
    positions[user] = (num_train, first)
  return positions


def rank_next_movies(data: Dict[str, object], seed: int = 0) -> Dict[str, Dict[str, float]]:
  """Each ranker's HR@K, NDCG@K and mean rank on `data` (generate.generate's output)."""
  choice: generate.ChoiceProcess = data["choice"]
  counts = data["counts"]
  starts = np.cumsum(counts) - counts
  index_of = {m: i for i, m in enumerate(data["movies"]["movie_id"])}
  movies = np.array([index_of[m] for m in data["movie_id"]])
  positions = first_eval_positions(counts, data["timestamp"], data["movie_id"])

  train_count = np.zeros(len(choice.log_popularity))
  for user, (num_train, _) in positions.items():
    np.add.at(train_count, movies[starts[user]:starts[user] + num_train], 1)
  known = np.argsort(-train_count, kind="stable")[:int((train_count > 0).sum())]
  walk_width = math.sqrt(2) * choice.order_noise  # two movies' order noise, in position

  rng = np.random.default_rng(seed)
  scores = {"popularity": [], "taste oracle": [], "taste and walk": []}
  users = sorted(positions)
  for chunk in range(0, len(users), 256):
    batch = users[chunk:chunk + 256]
    propensity = choice.propensity(np.array(batch))
    for row, user in enumerate(batch):
      sequence = movies[starts[user]:starts[user] + counts[user]]
      negatives = ranking.sample_negatives(known, set(sequence.tolist()), NEGATIVES, rng)
      if negatives is None:
        continue
      first = positions[user][1]
      candidates = np.concatenate([[sequence[first]], negatives])
      taste = propensity[row, candidates]
      gap = (choice.walk_position(user, candidates)
             - choice.walk_position(user, sequence[first - 1:first]))
      scores["popularity"].append(train_count[candidates])
      scores["taste oracle"].append(taste)
      scores["taste and walk"].append(taste - gap ** 2 / (2 * walk_width ** 2))
  return {name: ranking.summarize(ranking.rank_of_true(np.array(rows)), K)
          for name, rows in scores.items()}


def main(argv: Sequence[str]) -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--scale", type=float, default=1.0)
  parser.add_argument("--strengths", default=f"0,1,{generate.GeneratorConfig.choice_strength:g}",
                      help="comma-separated choice strengths (default: 0, 1 and the default)")
  common.add_page_flag(parser, "choice_oracle")
  args = parser.parse_args(argv)
  hr, ndcg = f"hr@{K}", f"ndcg@{K}"
  lines = [f"The generator's own next-movie rankers at scale {args.scale:g}: each user's first "
           f"eval event among {NEGATIVES} unrated movies, as the RankingEvaluator ranks it.",
           "",
           f"| choice strength | ranker | HR@{K} | NDCG@{K} | mean rank | HR@{K} / popularity's |",
           "| --- | --- | --- | --- | --- | --- |"]
  for strength in (float(s) for s in args.strengths.split(",")):
    config = generate.GeneratorConfig.scaled(args.scale, choice_strength=strength)
    results = rank_next_movies(generate.generate(config))
    popularity = results["popularity"][hr]
    for name, result in results.items():
      lines.append(f"| {strength:g} | {name} | {result[hr]:.4f} | {result[ndcg]:.4f} | "
                   f"{result['mean_rank']:.1f} | {result[hr] / popularity:.2f} |")
  for name, (published_hr, published_ndcg) in ML1M_PUBLISHED.items():
    lines.append(f"| real ml-1m | {name} (published) | {published_hr:.4f} | "
                 f"{published_ndcg:.4f} | | {published_hr / ML1M_PUBLISHED['PopRec'][0]:.2f} |")
  chance = ranking.chance(NEGATIVES, K)
  lines.append(f"| any | chance | {chance[hr]:.4f} | {chance[ndcg]:.4f} | "
               f"{chance['mean_rank']:.1f} | |")
  lines += ["", "The published rows: Kang and McAuley 2018, \"Self-Attentive Sequential "
            "Recommendation\", Table 3, the same protocol on real ml-1m."]
  common.publish(args.page, "Benchmark: the generator's choice strength", lines)

if __name__ == "__main__":
  import sys
  main(sys.argv[1:])

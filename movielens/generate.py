"""Synthetic MovieLens-1M-format data from a known rating process.

MovieLens 1M cannot be downloaded on every machine and its licence forbids shipping it, so
tests, offline demos and benchmarks use this generator. It writes `ratings.dat`,
`users.dat` and `movies.dat` in ml-1m's exact format (`::`-separated, latin-1) at any
scale, seeded and byte-for-byte deterministic, imitating ml-1m's statistics: demographic
codes and their proportions, the 18 genres, latin-1 titles, the timestamp range, at least
20 ratings per user, heavy-tailed user activity and movie popularity, and the 1-5 rating
distribution.

Ratings come from a process whose parameters are known, so a model's error can be put next
to the best achievable. Each rating is an ordinal cut of a latent score

    score = mu + b_user + b_movie + <p_user, q_movie>      (biases, latent taste)
          + demographic x genre effect                      (sex, age, occupation)
          + history effect + mood                           (the user's recent past)
          + noise

where the history effect sums, over the user's last few ratings, (rating - mean) x the
cosine similarity of the two movies x a decay in the time gap: recently loving similar
movies lifts the next rating, so a sequence model with time gaps has something real to
learn. The order in which a user meets movies is itself sequential (a slow walk through
latent space), so the next movie is predictable from the last ones too.

Beside the data it writes `oracle.csv`: per rating, the prediction with the smallest
expected absolute error given every latent parameter (the median of the rating's
distribution), that expected absolute error (the MAE floor), and the expected rating with
its expected absolute error. `GENERATED.json` marks the folder as synthetic so it never
stands in for real data silently.
"""
import argparse
import dataclasses
import json
import math
import os
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
from scipy import special

from movielens import constants as c

SECONDS_PER_DAY = 86_400.0


@dataclasses.dataclass(frozen=True)
class GeneratorConfig:
  """Size and process of the synthetic data. Effect sizes are in rating points."""
  num_users: int = c.ML1M_NUM_USERS
  num_movies: int = c.ML1M_NUM_MOVIES
  num_ratings: int = c.ML1M_NUM_RATINGS
  seed: int = 0
  latent_dim: int = 8
  user_bias_std: float = 0.35
  movie_bias_std: float = 0.40
  latent_taste_std: float = 0.35
  demographic_genre_std: float = 0.12
  # Sequential effects.
  history_window: int = 6          # how many previous ratings the process remembers
  history_effect: float = 1.2      # x mean over the window of decay*similarity*(rating-mean)
  history_decay_days: float = 3.0  # time gap after which a past rating counts 1/e as much
  mood_std: float = 0.15
  mood_autocorrelation: float = 0.9
  noise_std: float = 0.70
  # Which movies a user rates, and in what order.
  popularity_log_std: float = 1.5
  selection_taste_weight: float = 1.0  # users rate movies they like more often (MNAR)
  order_noise: float = 0.2             # 0: movies met in a strict walk through taste space
  # How much a user's choices follow the user: scales the taste in which movies they pick
  # and the walk through taste space (so through genres) that orders them. 0: movies
  # drawn by popularity alone, in random order, where nothing predicts the next movie
  # better than popularity. The default imitates real ml-1m: the smallest whole strength
  # whose taste oracle leads popularity at ranking the next movie by at least what
  # BPR-MF, a taste-only model, does on ml-1m (docs/synthetic_data.md;
  # benchmarks/choice_oracle.py prints both).
  choice_strength: float = 4.0

  @classmethod
  def scaled(cls, fraction: float, **overrides) -> "GeneratorConfig":
    """ml-1m shrunk (or grown) by `fraction` in users and ratings.

    The catalog shrinks only by sqrt(fraction) so small data stays sparse, like ml-1m.
    """
    return cls(
        num_users=max(1, round(c.ML1M_NUM_USERS * fraction)),
        num_movies=max(50, round(c.ML1M_NUM_MOVIES * math.sqrt(fraction))),
        num_ratings=round(c.ML1M_NUM_RATINGS * fraction),
        **overrides)

  def validate(self) -> None:
    if not (math.isfinite(self.choice_strength) and self.choice_strength >= 0):
      raise ValueError(f"choice strength must be 0 or more, got {self.choice_strength:g}")
    if self.num_users < 1 or self.num_movies < 1:
      raise ValueError("the generator needs at least one user and one movie")
    if self.num_ratings < c.MIN_RATINGS_PER_USER * self.num_users:
      raise ValueError(
          f"{self.num_ratings} ratings cannot give each of {self.num_users} users "
          f"{c.MIN_RATINGS_PER_USER} ratings (ml-1m's minimum)")
    if self.max_ratings_per_user < c.MIN_RATINGS_PER_USER:
      raise ValueError(f"{self.num_movies} movies are too few for "
                       f"{c.MIN_RATINGS_PER_USER} distinct ratings per user")
    if self.num_ratings > self.max_ratings_per_user * self.num_users:
      raise ValueError(f"{self.num_ratings} ratings do not fit {self.num_users} users x "
                       f"{self.max_ratings_per_user} movies each")

  @property
  def max_ratings_per_user(self) -> int:
    # ml-1m's busiest user rated 2,314 of 3,706 rated movies (62%).
    return int(0.6 * self.num_movies)


# --- Catalog and users -------------------------------------------------------------------

_TITLE_WORDS = (
    "Night", "City", "Love", "Story", "Last", "Man", "Woman", "Dark", "Return", "King",
    "Dream", "River", "Blood", "Summer", "Ghost", "Star", "House", "Secret", "War", "Game",
    "Heart", "Road", "Island", "Shadow", "Money", "Angel", "Wild", "Time", "Lost", "Fire",
    "Little", "Big", "Blue", "Red", "Silent", "Golden", "Empire", "Brother", "Girl", "Boy",
)
# ml-1m's latin-1 titles are mostly French, Spanish and German foreign releases.
_LATIN1_WORDS = (
    "Misérables", "Amélie", "Niño", "Señor", "Mädchen", "Fräulein", "Château", "Garçon",
    "Été", "Corazón", "Müller", "Citè", "Año", "Crépuscule", "Zoé",
)
_TITLE_ARTICLES = ("The", "A", "An", "Les", "La", "Le", "Das", "El")
_GENRE_COUNT_SHARES = (0.56, 0.30, 0.10, 0.03, 0.01)  # movies with 1..5 genres


def _proportional_choice(rng: np.random.Generator, counts: Dict, size: int) -> np.ndarray:
  keys = list(counts)
  shares = np.array([counts[k] for k in keys], dtype=float)
  return np.array(keys)[rng.choice(len(keys), size=size, p=shares / shares.sum())]


def make_users(rng: np.random.Generator, num_users: int) -> Dict[str, np.ndarray]:
  zips = rng.integers(1000, 99999, size=num_users)
  plus4 = rng.random(num_users) < 0.01  # ml-1m has a few ZIP+4 codes
  return {
      "user_id": np.arange(1, num_users + 1),
      "sex": _proportional_choice(rng, c.ML1M_SEX_COUNTS, num_users),
      "age_group": _proportional_choice(rng, c.ML1M_AGE_COUNTS, num_users),
      "occupation": _proportional_choice(rng, c.ML1M_OCCUPATION_COUNTS, num_users),
      "zip_code": np.array([
          f"{z:05d}-{rng.integers(0, 9999):04d}" if p else f"{z:05d}"
          for z, p in zip(zips, plus4)]),
  }


def _title(rng: np.random.Generator, year: int) -> str:
  words = list(rng.choice(_TITLE_WORDS, size=rng.integers(1, 4)))
  if rng.random() < 0.06:
    words[rng.integers(len(words))] = rng.choice(_LATIN1_WORDS)
  title = " ".join(words)
  if rng.random() < 0.2:  # ml-1m moves leading articles to the end: "Matrix, The"
    title = f"{title}, {rng.choice(_TITLE_ARTICLES)}"
  return f"{title} ({year})"


def make_movies(rng: np.random.Generator, num_movies: int) -> Dict[str, object]:
  # ml-1m's ids run from 1 to 3,952 with gaps; keep that shape at any scale.
  max_id = max(num_movies, round(num_movies * c.ML1M_MAX_MOVIE_ID / c.ML1M_NUM_MOVIES))
  movie_ids = np.sort(rng.choice(np.arange(1, max_id + 1), size=num_movies, replace=False))
  genre_shares = np.array([c.ML1M_GENRE_COUNTS[g] for g in c.GENRES], dtype=float)
  genre_shares /= genre_shares.sum()
  counts = rng.choice(len(_GENRE_COUNT_SHARES), size=num_movies, p=_GENRE_COUNT_SHARES) + 1
  multi_hot = np.zeros((num_movies, len(c.GENRES)), dtype=np.float64)
  for i, count in enumerate(counts):
    multi_hot[i, rng.choice(len(c.GENRES), size=count, replace=False, p=genre_shares)] = 1
  # Release years: mostly the 1990s, a long tail back to 1919 (as in ml-1m).
  years = np.clip(2000 - np.floor(rng.exponential(7.0, size=num_movies)), 1919, 2000)
  titles = [_title(rng, int(y)) for y in years]
  return {"movie_id": movie_ids, "title": titles, "genres": multi_hot}


# --- Who rates what, and when ------------------------------------------------------------


def ratings_per_user(rng: np.random.Generator, config: GeneratorConfig) -> np.ndarray:
  """Heavy-tailed activity: 20 + lognormal, summing exactly to num_ratings.

  The lognormal's median and mean match ml-1m's (96 and 165.6 ratings per user).
  """
  extra_total = config.num_ratings - c.MIN_RATINGS_PER_USER * config.num_users
  cap = config.max_ratings_per_user - c.MIN_RATINGS_PER_USER
  raw = rng.lognormal(mean=4.33, sigma=1.14, size=config.num_users)
  extra = np.zeros(config.num_users)
  for _ in range(50):  # scale to the total; users over the cap give their excess back
    free = extra < cap
    extra[free] = raw[free] * (extra_total - extra[~free].sum()) / raw[free].sum()
    extra = np.minimum(extra, cap)
    if abs(extra.sum() - extra_total) < 1:
      break
  counts = np.floor(extra).astype(np.int64)
  shortfall = extra_total - counts.sum()  # largest remainders get the leftover ratings
  order = np.argsort(-(extra - counts), kind="stable")
  order = order[counts[order] < cap][:shortfall]
  counts[order] += 1
  return counts + c.MIN_RATINGS_PER_USER


@dataclasses.dataclass(frozen=True)
class ChoiceProcess:
  """What decides which movies a user rates and in what order (choose_movies): kept, so
  the best possible ranker of the next movie can be computed (benchmarks/choice_oracle.py)."""
  log_popularity: np.ndarray   # per movie
  affinity: Callable[[np.ndarray], np.ndarray]  # user indices -> taste, (users, movies)
  user_direction: np.ndarray   # per user, the unit direction of their walk in taste space
  movie_latent: np.ndarray     # per movie, its taste vector
  strength: float              # GeneratorConfig.choice_strength
  taste_weight: float          # GeneratorConfig.selection_taste_weight
  order_noise: float           # GeneratorConfig.order_noise

  def propensity(self, users: np.ndarray) -> np.ndarray:
    """(users, movies) log-weight of each movie in the users' draw of movies to rate."""
    return self.log_popularity[None, :] + self.strength * self.taste_weight * self.affinity(users)

  def walk_position(self, user: int, movies: np.ndarray) -> np.ndarray:
    """Where `movies` lie on `user`'s walk, noise aside: they are rated in this order."""
    return self.strength * (self.movie_latent[movies] @ self.user_direction[user])


def choose_movies(rng: np.random.Generator, counts: np.ndarray,
                  choice: ChoiceProcess) -> List[np.ndarray]:
  """Per user, which distinct movies they rate, in the order they rate them.

  Sampling without replacement by the Gumbel top-k trick, weighted by popularity and by
  the user's taste; then ordered along a noisy walk in latent space, so consecutive movies
  resemble each other. `choice_strength` scales both the taste and the walk.
  """
  chosen: List[np.ndarray] = []
  chunk = 256
  for start in range(0, len(counts), chunk):
    users = np.arange(start, min(start + chunk, len(counts)))
    keys = choice.propensity(users) + rng.gumbel(size=(len(users), len(choice.log_popularity)))
    ranked = np.argsort(-keys, axis=1, kind="stable")
    for row, user in enumerate(users):
      movies = ranked[row, :counts[user]]
      position = choice.walk_position(user, movies)
      position += choice.order_noise * rng.standard_normal(len(movies))
      chosen.append(movies[np.argsort(position, kind="stable")])
  return chosen


def make_timestamps(rng: np.random.Generator, counts: np.ndarray) -> np.ndarray:
  """Increasing timestamps per user (flat, user after user), within ml-1m's range.

  Bursts of ratings seconds apart (ties included, as in ml-1m) with gaps of days between
  sessions; most users start in 2000, as ml-1m's users joined then.
  """
  total = int(counts.sum())
  starts = np.repeat(np.cumsum(counts) - counts, counts)
  in_session = rng.random(total) < 0.92
  gaps = np.where(in_session, np.floor(rng.exponential(25.0, total)),
                  rng.lognormal(np.log(2 * SECONDS_PER_DAY), 1.5, total))
  gaps[np.cumsum(counts) - counts] = 0  # each user's first rating is at their start
  offsets = np.cumsum(gaps)
  offsets -= offsets[starts]
  span = c.ML1M_LAST_TIMESTAMP - c.ML1M_FIRST_TIMESTAMP
  first = np.minimum(rng.exponential(60 * SECONDS_PER_DAY, len(counts)), 0.9 * span)
  user_first = np.repeat(first, counts)
  user_last_offset = np.repeat(offsets[np.cumsum(counts) - 1], counts)
  room = span - user_first
  squeeze = np.where(user_last_offset > room, room / np.maximum(user_last_offset, 1), 1.0)
  return (c.ML1M_FIRST_TIMESTAMP + user_first + np.floor(offsets * squeeze)).astype(np.int64)


# --- Ratings -----------------------------------------------------------------------------


def rating_probabilities(mean_score: np.ndarray, thresholds: np.ndarray,
                         noise_std: float) -> np.ndarray:
  """P(rating = k), k = 1..5, for rating = 1 + #{thresholds below score + noise}."""
  cdf = special.ndtr((thresholds[None, :] - mean_score[:, None]) / noise_std)
  cdf = np.concatenate([np.zeros((len(mean_score), 1)), cdf,
                        np.ones((len(mean_score), 1))], axis=1)
  return np.diff(cdf, axis=1)


def oracle_predictions(probabilities: np.ndarray) -> Dict[str, np.ndarray]:
  """The best predictions given the latent score: median (for MAE) and mean (for MSE)."""
  stars = np.arange(c.MIN_RATING, c.MAX_RATING + 1, dtype=float)
  expected_abs_error = lambda prediction: (
      probabilities * np.abs(stars[None, :] - prediction[:, None])).sum(1)
  median = stars[np.argmax(np.cumsum(probabilities, axis=1) >= 0.5, axis=1)]
  mean = probabilities @ stars
  return {
      "best_prediction": median,
      "best_expected_abs_error": expected_abs_error(median),
      "expected_rating": mean,
      "expected_rating_abs_error": expected_abs_error(mean),
  }


def calibrate_thresholds(scores: np.ndarray) -> np.ndarray:
  """Cut points that give ml-1m's share of each star."""
  cumulative = np.cumsum([c.ML1M_RATING_SHARES[k] for k in range(1, 5)])
  return np.quantile(scores, cumulative)


class _RatingProcess:
  """The latent rating score of every (user, movie) pair, history aside."""

  def __init__(self, rng: np.random.Generator, config: GeneratorConfig,
               users: Dict[str, np.ndarray], genres: np.ndarray, log_popularity: np.ndarray):
    d = config.latent_dim
    num_users, num_genres = len(users["user_id"]), genres.shape[1]
    genre_weights = genres / genres.sum(axis=1, keepdims=True)
    # Movie taste vectors share structure with genres, so genre features are informative.
    genre_latent = rng.standard_normal((num_genres, d))
    movie_latent = 0.7 * genre_weights @ genre_latent + 0.7 * rng.standard_normal((len(genres), d))
    self.movie_latent = movie_latent / np.sqrt((movie_latent ** 2).sum(1).mean())
    self.movie_unit = self.movie_latent / np.linalg.norm(self.movie_latent, axis=1, keepdims=True)
    self.user_latent = config.latent_taste_std * rng.standard_normal((num_users, d))
    self.user_bias = config.user_bias_std * rng.standard_normal(num_users)
    popularity_z = (log_popularity - log_popularity.mean()) / log_popularity.std()
    self.movie_bias = config.movie_bias_std * (
        0.4 * popularity_z + math.sqrt(1 - 0.4 ** 2) * rng.standard_normal(len(genres)))
    # Demographic x genre: each sex, age group and occupation likes some genres more.
    effects = lambda codes, count: config.demographic_genre_std * rng.standard_normal(
        (count, num_genres))[codes]
    sex_index = (users["sex"] == "F").astype(int)
    age_index = np.searchsorted(c.AGE_GROUPS, users["age_group"])
    user_genre = (effects(sex_index, 2) + effects(age_index, len(c.AGE_GROUPS))
                  + effects(users["occupation"], len(c.OCCUPATIONS)))
    self.user_genre = user_genre
    self.genre_weights = genre_weights

  def affinity(self, users: np.ndarray) -> np.ndarray:
    """Taste of `users` for every movie (latent and demographic), shape (users, movies)."""
    return (self.user_latent[users] @ self.movie_latent.T
            + self.user_genre[users] @ self.genre_weights.T)

  def static_score(self, users: np.ndarray, movies: np.ndarray) -> np.ndarray:
    return (self.user_bias[users] + self.movie_bias[movies]
            + (self.user_latent[users] * self.movie_latent[movies]).sum(1)
            + (self.user_genre[users] * self.genre_weights[movies]).sum(1))


def _history_weights(movies: np.ndarray, timestamps: np.ndarray, position: np.ndarray,
                     movie_unit: np.ndarray, config: GeneratorConfig) -> np.ndarray:
  """(ratings, window) weight of each previous rating: similarity x time decay / window."""
  window = config.history_window
  weights = np.zeros((len(movies), window))
  for lag in range(1, window + 1):
    current = np.nonzero(position >= lag)[0]
    previous = current - lag
    similarity = (movie_unit[movies[current]] * movie_unit[movies[previous]]).sum(1)
    gap_days = (timestamps[current] - timestamps[previous]) / SECONDS_PER_DAY
    weights[current, lag - 1] = (similarity * np.exp(-gap_days / config.history_decay_days)
                                 / window)
  return weights


def _roll_out_ratings(static: np.ndarray, history_weights: np.ndarray, mood_noise: np.ndarray,
                      rating_noise: np.ndarray, counts: np.ndarray, thresholds: np.ndarray,
                      config: GeneratorConfig):
  """Generates ratings position by position, since each depends on the previous ones."""
  starts = np.cumsum(counts) - counts
  ratings = np.zeros(len(static), dtype=np.int64)
  mean_score = np.zeros(len(static))
  history_term = np.zeros(len(static))
  mood = np.zeros(len(counts))
  rho = config.mood_autocorrelation
  global_mean = sum(k * share for k, share in c.ML1M_RATING_SHARES.items())
  for t in range(int(counts.max())):
    active = np.nonzero(counts > t)[0]
    index = starts[active] + t
    mood[active] = rho * mood[active] + math.sqrt(1 - rho ** 2) * mood_noise[index]
    history = np.zeros(len(index))
    for lag in range(1, min(t, config.history_window) + 1):
      history += history_weights[index, lag - 1] * (ratings[index - lag] - global_mean)
    history_term[index] = config.history_effect * history
    mean_score[index] = static[index] + history_term[index] + mood[active]
    ratings[index] = 1 + (mean_score[index, None] + rating_noise[index, None]
                          > thresholds[None, :]).sum(1)
  return ratings, mean_score, history_term


def generate(config: GeneratorConfig) -> Dict[str, object]:
  """Draws users, movies and ratings; returns arrays, in the order ratings were made."""
  config.validate()
  rng = np.random.default_rng(config.seed)
  users = make_users(rng, config.num_users)
  movies = make_movies(rng, config.num_movies)
  log_popularity = config.popularity_log_std * rng.standard_normal(config.num_movies)
  process = _RatingProcess(rng, config, users, movies["genres"], log_popularity)

  counts = ratings_per_user(rng, config)
  user_direction = rng.standard_normal((config.num_users, config.latent_dim))
  user_direction /= np.linalg.norm(user_direction, axis=1, keepdims=True)
  choice = ChoiceProcess(log_popularity, process.affinity, user_direction,
                         process.movie_latent, config.choice_strength,
                         config.selection_taste_weight, config.order_noise)
  chosen = choose_movies(rng, counts, choice)
  user_index = np.repeat(np.arange(config.num_users), counts)
  movie_index = np.concatenate(chosen)
  position = np.arange(len(movie_index)) - np.repeat(np.cumsum(counts) - counts, counts)
  timestamps = make_timestamps(rng, counts)

  static = process.static_score(user_index, movie_index)
  history_weights = _history_weights(movie_index, timestamps, position, process.movie_unit,
                                     config)
  mood_noise = config.mood_std * rng.standard_normal(len(static))
  rating_noise = config.noise_std * rng.standard_normal(len(static))
  # The history term widens the scores, so the cut points come from a first roll-out and
  # the ratings from a second one that uses them.
  roll_out = lambda cuts: _roll_out_ratings(static, history_weights, mood_noise,
                                            rating_noise, counts, cuts, config)
  _, first_scores, _ = roll_out(calibrate_thresholds(static + rating_noise))
  thresholds = calibrate_thresholds(first_scores + rating_noise)
  ratings, mean_score, history_term = roll_out(thresholds)
  oracle = oracle_predictions(
      rating_probabilities(mean_score, thresholds, config.noise_std))
  return {
      "users": users, "movies": movies, "counts": counts,
      "user_id": users["user_id"][user_index], "movie_id": movies["movie_id"][movie_index],
      "rating": ratings, "timestamp": timestamps, "oracle": oracle, "choice": choice,
      "score_std": {  # how much each part of the process moves the latent score
          "user_bias": float(process.user_bias[user_index].std()),
          "movie_bias": float(process.movie_bias[movie_index].std()),
          "taste_and_demographics": float((static - process.user_bias[user_index]
                                           - process.movie_bias[movie_index]).std()),
          "history": float(history_term.std()),
          "mood": float((mean_score - static - history_term).std()),
          "noise": float(rating_noise.std()),
      },
  }


# --- Files -------------------------------------------------------------------------------


def _file_order(data: Dict[str, object], seed: int) -> np.ndarray:
  """Line order of ratings.dat: users ascending, each user's lines shuffled (as in ml-1m).

  Ratings with equal timestamps keep their generation order, because readers break
  timestamp ties by line order: reading the files back gives the generated sequences.
  """
  user_id, timestamp = data["user_id"], data["timestamp"]
  new_group = np.ones(len(user_id), dtype=bool)
  new_group[1:] = (user_id[1:] != user_id[:-1]) | (timestamp[1:] != timestamp[:-1])
  group = np.cumsum(new_group) - 1
  group_key = np.random.default_rng((seed, 1)).random(group[-1] + 1)[group]
  return np.lexsort((np.arange(len(user_id)), group_key, user_id))


def _write_lines(path: str, lines: Sequence[str], encoding: str) -> None:
  with open(path, "w", encoding=encoding, newline="\n") as f:
    f.write("\n".join(lines))
    f.write("\n")


def write_movielens(data: Dict[str, object], output_dir: str, config: GeneratorConfig) -> None:
  """Writes ratings.dat, users.dat, movies.dat, oracle.csv and GENERATED.json."""
  os.makedirs(output_dir, exist_ok=True)
  sep = c.FIELD_SEPARATOR
  users = data["users"]
  _write_lines(os.path.join(output_dir, c.USERS_FILE), [
      sep.join(map(str, row)) for row in zip(
          users["user_id"].tolist(), users["sex"].tolist(), users["age_group"].tolist(),
          users["occupation"].tolist(), users["zip_code"].tolist())], c.FILE_ENCODING)
  movies = data["movies"]
  genre_names = np.array(c.GENRES)
  _write_lines(os.path.join(output_dir, c.MOVIES_FILE), [
      f"{movie_id}{sep}{title}{sep}{c.GENRE_SEPARATOR.join(genre_names[row > 0])}"
      for movie_id, title, row in zip(movies["movie_id"].tolist(), movies["title"],
                                      movies["genres"])], c.FILE_ENCODING)

  order = _file_order(data, config.seed)
  columns = [np.asarray(data[k])[order].tolist()
             for k in ("user_id", "movie_id", "rating", "timestamp")]
  _write_lines(os.path.join(output_dir, c.RATINGS_FILE),
               [sep.join(map(str, row)) for row in zip(*columns)], c.FILE_ENCODING)
  oracle = [data["oracle"][k][order].tolist() for k in c.ORACLE_COLUMNS[2:]]
  _write_lines(os.path.join(output_dir, c.ORACLE_FILE), [",".join(c.ORACLE_COLUMNS)] + [
      f"{u},{m},{best:.0f},{best_error:.6f},{mean:.6f},{mean_error:.6f}"
      for u, m, best, best_error, mean, mean_error in zip(columns[0], columns[1], *oracle)],
      "ascii")

  info = {
      "synthetic": True,
      "note": "Generated by movielens.generate; not MovieLens data.",
      "config": dataclasses.asdict(config),
      "num_users": int(config.num_users),
      "num_movies": int(config.num_movies),
      "num_ratings": int(len(order)),
      "oracle_mae": round(float(data["oracle"]["best_expected_abs_error"].mean()), 6),
      "expected_rating_mae": round(
          float(data["oracle"]["expected_rating_abs_error"].mean()), 6),
      "score_std": {k: round(v, 4) for k, v in data["score_std"].items()},
  }
  with open(os.path.join(output_dir, c.GENERATOR_INFO_FILE), "w") as f:
    json.dump(info, f, indent=2, sort_keys=True)
    f.write("\n")


def is_synthetic(data_dir: str) -> bool:
  return os.path.exists(os.path.join(data_dir, c.GENERATOR_INFO_FILE))


def read_config(data_dir: str) -> Optional[GeneratorConfig]:
  """The config that generated `data_dir`, or None where it holds no generated data."""
  if not is_synthetic(data_dir):
    return None
  with open(os.path.join(data_dir, c.GENERATOR_INFO_FILE)) as f:
    return GeneratorConfig(**json.load(f)["config"])


def generate_movielens(output_dir: str, config: GeneratorConfig = GeneratorConfig()) -> str:
  """Generates data for `config` into `output_dir` and returns the directory."""
  write_movielens(generate(config), output_dir, config)
  return output_dir


def add_choice_flag(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--choice-strength", type=float,
                      default=GeneratorConfig.choice_strength,
                      help="how much users' choices of movies follow their taste and their "
                      "recent movies (default %(default)g, imitating ml-1m; 0: popularity "
                      "alone, in random order)")


def main(argv: Sequence[str]) -> None:
  from cli import entry_point  # pylint: disable=g-import-not-at-top  (the command only)
  parser = argparse.ArgumentParser(
      description="Write synthetic MovieLens-1M-format files (ratings.dat, users.dat, "
      "movies.dat) plus oracle.csv, the best achievable prediction per rating.")
  parser.add_argument("--output-dir", required=True, help="folder to write the files to")
  parser.add_argument("--scale", type=float, default=1.0,
                      help="fraction of ml-1m's users and ratings (default 1: 1,000,209 ratings)")
  parser.add_argument("--num-users", type=int, help="override the scaled number of users")
  parser.add_argument("--num-movies", type=int, help="override the scaled number of movies")
  parser.add_argument("--num-ratings", type=int, help="override the scaled number of ratings")
  parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
  add_choice_flag(parser)
  entry_point.add_debug_flag(parser, beam=False)
  args = parser.parse_args(argv)
  config = GeneratorConfig.scaled(args.scale, seed=args.seed,
                                  choice_strength=args.choice_strength)
  overrides = {k: v for k, v in (("num_users", args.num_users), ("num_movies", args.num_movies),
                                 ("num_ratings", args.num_ratings)) if v is not None}
  config = dataclasses.replace(config, **overrides)
  generate_movielens(args.output_dir, config)
  with open(os.path.join(args.output_dir, c.GENERATOR_INFO_FILE)) as f:
    info = json.load(f)
  print(f"wrote {info['num_ratings']:,} ratings by {info['num_users']:,} users of "
        f"{info['num_movies']:,} movies to {args.output_dir} "
        f"(oracle MAE {info['oracle_mae']:.4f})")


def command() -> None:
  """The command, as `python -m movielens.generate` and as setup.py's installed script."""
  from cli import entry_point  # pylint: disable=g-import-not-at-top
  entry_point.run(main)


if __name__ == "__main__":
  command()

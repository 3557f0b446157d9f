"""Top-N movies for a user: every catalog movie the user has not rated, scored by the model.

    python -m serving.recommend --data-dir outputs/raw/synthetic-scale1-seed0 --user-id 42
    python -m serving.recommend --data-dir DIR --request user.json   # a user not in DIR
    python -m serving.recommend --data-dir DIR --user-id 42 --by rating

By default movies are ranked by the model's next-movie score, how likely the user is to
pick each one next: what "what should I watch next" asks. `--by rating` ranks by the
predicted rating instead: movies the user would rate highly if they watched them, which
favours obscure movies that few would pick (the RankingEvaluator measures both).

With --user-id the user's demographics come from users.dat and their ratings from a
history index of ratings.dat, built on first use and kept (serving/history.py: no
reparsing per call); with --request they come from one serving-contract JSON object (its
target fields ignored).
All candidates go to the model in large batches, as the same event at the same time
(by default just after the user's last rating), differing only in the target movie.
"""
from cli import environment  # noqa: F401  (first: before TensorFlow loads)

import argparse
import json
import os
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from cli import entry_point
from movielens import constants as c
from movielens import contract
from movielens import parse
from serving import history
from serving import model as serving_model


def user_request(users: Dict[int, parse.User], index: history.HistoryIndex, user_id: int,
                 history_length: int) -> Dict[str, Any]:
  """The user's features and latest `history_length` ratings (the model's window: it
  reads no more), as a serving-contract request without a target; "rated" holds every
  movie they rated."""
  if user_id not in users:
    raise LookupError(f"user {user_id} is not in {c.USERS_FILE}")
  user = users[user_id]
  movie_ids, ratings, timestamps = index.history(user_id)
  recent = slice(max(0, len(movie_ids) - history_length), None)
  return {
      **{field: getattr(user, field) for field in contract.USER_FIELDS},
      c.HISTORY_MOVIE_IDS: movie_ids[recent].tolist(),
      c.HISTORY_RATINGS: ratings[recent].astype(float).tolist(),
      c.HISTORY_TIMESTAMPS: timestamps[recent].tolist(),
      "rated": set(movie_ids.tolist()),
  }


def user_from_data_dir(data_dir: str, user_id: int, history_length: int,
                       index_dir: str = history.DEFAULT_INDEX_DIR) -> Dict[str, Any]:
  """--user-id's request, as one call makes it: users.dat, and the kept history index."""
  users = parse.load_users(os.path.join(data_dir, c.USERS_FILE))
  return user_request(users, history.load(data_dir, index_dir), user_id, history_length)


def request_from_file(path: str) -> Dict[str, Any]:
  """A user given as one serving-contract JSON object; its target fields are not needed."""
  with open(path) as text:
    try:
      values = json.load(text)
    except json.JSONDecodeError as error:
      raise ValueError(f"{path}: not JSON: {error}") from None
  if not isinstance(values, dict):
    raise ValueError(f"{path}: expected one JSON object")
  # Placeholders the contract accepts: every candidate brings its own movie and time.
  values.setdefault(c.TARGET_MOVIE_ID, 1)
  values.setdefault(c.TARGET_TIMESTAMP, c.MAX_TIMESTAMP)
  return contract.request_from_row(values, path, 1)


ORDERS = {"next": contract.NEXT_MOVIE_KEY, "rating": contract.PREDICTION_KEY}  # --by


def recommend(rating_model: serving_model.RatingModel, user: Dict[str, Any],
              movies: Dict[int, parse.Movie], top: int, at: Optional[int] = None,
              by: str = "next") -> Tuple[List[Dict[str, Any]], int]:
  """The `top` unrated catalog movies, best first by ORDERS[by]; how many were scored."""
  rated = user.get("rated", set(user[c.HISTORY_MOVIE_IDS]))
  candidates = sorted(set(movies) - rated)
  timestamps = user[c.HISTORY_TIMESTAMPS]
  at = at if at is not None else (max(timestamps) + 1 if timestamps else int(time.time()))
  if timestamps and at < max(timestamps):
    raise ValueError(f"--at {at} is before the user's last rating ({max(timestamps)}): "
                     "the model scores what comes after the history")
  if not candidates:
    return [], 0
  event = contract.encode({**{k: v for k, v in user.items() if k != "rated"},
                           c.TARGET_MOVIE_ID: candidates[0], c.TARGET_TIMESTAMP: at})
  scores = rating_model.score_examples(contract.with_targets(event, candidates))
  best = np.argsort(-scores[ORDERS[by]], kind="stable")[:top]
  return [{"movie_id": candidates[i], "title": movies[candidates[i]].title,
           "genres": c.GENRE_SEPARATOR.join(movies[candidates[i]].genres),
           contract.PREDICTION_KEY: round(float(scores[contract.PREDICTION_KEY][i]), 4),
           contract.NEXT_MOVIE_KEY: round(float(scores[contract.NEXT_MOVIE_KEY][i]), 4)}
          for i in best], len(candidates)


def parse_args(argv: Sequence[str]):
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--data-dir", required=True,
                      help="MovieLens folder: movies.dat is the catalog (titles); users.dat "
                      "and ratings.dat give --user-id's features and history")
  who = parser.add_mutually_exclusive_group(required=True)
  who.add_argument("--user-id", type=int, help="a user of --data-dir")
  who.add_argument("--request", help="a JSON file: one serving-contract object for the user")
  parser.add_argument("--top", type=int, default=10, help="how many movies (default 10)")
  parser.add_argument("--by", choices=sorted(ORDERS), default="next",
                      help="rank by the next-movie score (default: what the user likely "
                      "picks next) or by the predicted rating")
  parser.add_argument("--at", type=int,
                      help="Unix time of the imagined ratings (default: after the last one)")
  parser.add_argument("--index-dir", default=history.DEFAULT_INDEX_DIR,
                      help="where --user-id's history index is kept, built on first use "
                      f"(serving/history.py; default {history.DEFAULT_INDEX_DIR})")
  serving_model.add_served_model_flags(parser)
  entry_point.add_debug_flag(parser)
  args = parser.parse_args(argv)
  if args.top < 1:
    raise ValueError(f"--top must be at least 1, got {args.top}")
  if not os.path.isfile(os.path.join(args.data_dir, c.MOVIES_FILE)):
    raise FileNotFoundError(f"--data-dir {args.data_dir} has no {c.MOVIES_FILE}")
  return args


def main(argv: Sequence[str]) -> None:
  args = parse_args(argv)
  path = serving_model.version_dir(args.serving_dir, args.version)
  movies = parse.load_movies(os.path.join(args.data_dir, c.MOVIES_FILE))
  user = request_from_file(args.request) if args.request else None
  started = time.monotonic()
  rating_model = serving_model.RatingModel(path)
  loaded = time.monotonic()
  if user is None:
    user = user_from_data_dir(args.data_dir, args.user_id, rating_model.window,
                              args.index_dir)
  ranked, num_candidates = recommend(rating_model, user, movies, args.top, args.at, args.by)
  answered = time.monotonic()
  print(f"model {path} (loaded in {loaded - started:.1f} s): {num_candidates:,} unrated "
        f"movies scored, answered in {answered - loaded:.2f} s; ranked by "
        f"{ORDERS[args.by]}")
  print(f"  #  {'next':>6}  rating  title")
  for rank, movie in enumerate(ranked, start=1):
    print(f"{rank:3d}. {movie[contract.NEXT_MOVIE_KEY]:6.2f}  "
          f"{movie[contract.PREDICTION_KEY]:6.2f}  {movie['title']}  [{movie['genres']}]"
          f"  (movie {movie['movie_id']})")


def command() -> None:
  """The command, as `python -m serving.recommend` and as setup.py's installed script."""
  entry_point.run(main)


if __name__ == "__main__":
  command()

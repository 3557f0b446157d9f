"""Top-N movies for a user: every catalog movie the user has not rated, scored by the model.

    python -m serving.recommend --data-dir outputs/raw/synthetic-scale1-seed0 --user-id 42
    python -m serving.recommend --data-dir DIR --request user.json   # a user not in DIR

With --user-id the user's demographics and ratings come from the MovieLens folder; with
--request they come from one serving-contract JSON object (its target fields ignored).
All candidates go to the model in large batches, as the same event at the same time
(by default just after the user's last rating), differing only in the target movie.
"""
from pipeline import environment  # noqa: F401  (first: before TensorFlow loads)

import argparse
import json
import os
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from movielens import constants as c
from movielens import contract
from movielens import parse
from pipeline import cli
from serving import model as serving_model

def user_request(data: parse.MovieLens, user_id: int, history_length: int) -> Dict[str, Any]:
  """The user's features and latest `history_length` ratings (the model's window: it
  reads no more), as a serving-contract request without a target."""
  if user_id not in data.users:
    raise LookupError(f"user {user_id} is not in {c.USERS_FILE}")
  user = data.users[user_id]
  ratings = data.ratings[data.ratings.user_id == user_id].sort_values(
      ["timestamp", "line_number"])
  recent = ratings.tail(history_length)
  return {
      c.USER_ID: user_id, c.SEX: user.sex, c.AGE_GROUP: user.age_group,
      c.OCCUPATION: user.occupation,
      c.HISTORY_MOVIE_IDS: recent.movie_id.tolist(),
      c.HISTORY_RATINGS: recent.rating.astype(float).tolist(),
      c.HISTORY_TIMESTAMPS: recent.timestamp.tolist(),
      "rated": set(ratings.movie_id.tolist()),
  }


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


def recommend(rating_model: serving_model.RatingModel, user: Dict[str, Any],
              movies: Dict[int, parse.Movie], top: int, at: Optional[int] = None
              ) -> Tuple[List[Dict[str, Any]], int]:
  """The `top` unrated catalog movies by predicted rating, best first; how many were scored."""
  rated = user.get("rated", set(user[c.HISTORY_MOVIE_IDS]))
  candidates = sorted(set(movies) - rated)
  timestamps = user[c.HISTORY_TIMESTAMPS]
  at = at if at is not None else (max(timestamps) + 1 if timestamps else int(time.time()))
  if timestamps and at < max(timestamps):
    raise ValueError(f"--at {at} is before the user's last rating ({max(timestamps)}): "
                     "the model scores what comes after the history")
  base = {k: v for k, v in user.items() if k != "rated"}
  scores = rating_model.predict([{**base, c.TARGET_MOVIE_ID: movie, c.TARGET_TIMESTAMP: at}
                                 for movie in candidates])
  best = np.argsort(-scores, kind="stable")[:top]
  return [{"movie_id": candidates[i], "title": movies[candidates[i]].title,
           "genres": c.GENRE_SEPARATOR.join(movies[candidates[i]].genres),
           "predicted_rating": round(float(scores[i]), 4)} for i in best], len(candidates)


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
  parser.add_argument("--at", type=int,
                      help="Unix time of the imagined ratings (default: after the last one)")
  serving_model.add_model_flags(parser)
  cli.add_debug_flag(parser)
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
    user = user_request(parse.load_movielens(args.data_dir), args.user_id, rating_model.window)
  ready = time.monotonic()
  ranked, num_candidates = recommend(rating_model, user, movies, args.top, args.at)
  scored = time.monotonic()
  print(f"model {path}: {num_candidates:,} unrated movies scored in {scored - ready:.2f} s "
        f"(model loaded in {loaded - started:.1f} s)")
  for rank, movie in enumerate(ranked, start=1):
    print(f"{rank:3d}. {movie['predicted_rating']:.2f}  {movie['title']}  [{movie['genres']}]"
          f"  (movie {movie['movie_id']})")


if __name__ == "__main__":
  cli.run(main)

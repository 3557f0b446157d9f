"""Top-N movies for a user: every catalog movie the user has not rated, scored by the model.

    python -m serving.recommend --user-id 42          # a user of the last run's data
    python -m serving.recommend --request examples/user.json   # a user given whole
    python -m serving.recommend --user-id 42 --by rating --json
    python -m serving.recommend --data-dir DIR --user-id 42 --serving-dir DIR/serving

By default movies are ranked by the model's next-movie score, how likely the user is to
pick each one next: what "what should I watch next" asks. `--by rating` ranks by the
predicted rating instead: movies the user would rate highly if they watched them, which
favours obscure movies that few would pick (the RankingEvaluator measures both); ties,
common at the top of the rating scale, go to the likelier pick.

The catalog, users and ratings are the MovieLens folder the last run under outputs/ was
converted from (found in its ML Metadata), or --data-dir.

With --user-id the user's demographics come from users.dat and their ratings from a
history index of ratings.dat, built on first use and kept (no reparsing per call); with
--request they come from one serving-contract JSON object (its target fields ignored).
All candidates go to the model in large batches, as the same event at the same time
(by default just after the user's last rating), differing only in the target movie.
"""
from cli import environment  # noqa: F401  (first: before TensorFlow loads)

import argparse
import json
import os
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from cli import entry_point
from cli.layout import DEFAULT_LAYOUT
from movielens import constants as c
from movielens import contract
from movielens import parse
from results import store
from serving import history
from serving import model as serving_model


def check_user(users: Dict[int, parse.User], user_id: int,
               users_file: str = c.USERS_FILE) -> None:
  if user_id not in users:
    raise LookupError(f"user {user_id} is not in {users_file}")


def user_request(users: Dict[int, parse.User], index: history.HistoryIndex, user_id: int,
                 history_length: int) -> Dict[str, Any]:
  """The user's features and latest `history_length` ratings (the model's window: it
  reads no more), as a serving-contract request without a target; "rated" holds every
  movie they rated."""
  check_user(users, user_id)
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


def printable(text: str) -> str:
  """Text safe for a terminal: a control character in a title (an escape sequence could
  retitle the window or worse) is shown as its code, never sent raw."""
  return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)


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
  tie_break = scores[ORDERS["next"]]
  best = np.lexsort((-tie_break, -scores[ORDERS[by]]))[:top]
  return [{"movie_id": candidates[i], "title": movies[candidates[i]].title,
           "genres": c.GENRE_SEPARATOR.join(movies[candidates[i]].genres),
           contract.PREDICTION_KEY: round(float(scores[contract.PREDICTION_KEY][i]), 4),
           contract.NEXT_MOVIE_KEY: round(float(scores[contract.NEXT_MOVIE_KEY][i]), 4)}
          for i in best], len(candidates)


def parse_args(argv: Sequence[str]):
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--data-dir",
                      help="MovieLens folder: movies.dat is the catalog (titles); users.dat "
                      "and ratings.dat give --user-id's features and history (default: the "
                      f"data of the last run under {DEFAULT_LAYOUT.output_dir})")
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
                      f"(default {history.DEFAULT_INDEX_DIR})")
  parser.add_argument("--json", action="store_true",
                      help="print one JSON object (the model, the user, the ranked movies) "
                      "instead of a table")
  serving_model.add_served_model_flags(parser)
  entry_point.add_debug_flag(parser, beam=False)
  args = parser.parse_args(argv)
  if args.top < 1:
    raise ValueError(f"--top must be at least 1, got {args.top}")
  if args.data_dir is None:
    args.data_dir = store.latest_raw_data_dir(DEFAULT_LAYOUT.metadata_path)
    if args.data_dir is None:
      raise FileNotFoundError(f"no run under {DEFAULT_LAYOUT.output_dir} to take the "
                              "catalog from: run the pipeline (bin/run), or name a MovieLens "
                              "folder with --data-dir")
  if not os.path.isfile(os.path.join(args.data_dir, c.MOVIES_FILE)):
    raise FileNotFoundError(f"--data-dir {args.data_dir} has no {c.MOVIES_FILE}")
  return args


def main(argv: Sequence[str]) -> None:
  args = parse_args(argv)
  path = serving_model.version_dir(args.serving_dir, args.version)
  movies = parse.load_movies(os.path.join(args.data_dir, c.MOVIES_FILE))
  if args.request:
    user = request_from_file(args.request)
  else:  # an unknown user is refused before the model's seconds of loading
    users_file = os.path.join(args.data_dir, c.USERS_FILE)
    users = parse.load_users(users_file)
    check_user(users, args.user_id, users_file)
  started = time.monotonic()
  rating_model = serving_model.RatingModel(path)
  loaded = time.monotonic()
  if not args.request:
    user = user_request(users, history.load(args.data_dir, args.index_dir), args.user_id,
                        rating_model.window)
  unknown = sorted({int(m) for m in user[c.HISTORY_MOVIE_IDS]} - rating_model.known_movie_ids)
  if unknown:
    print(f"warning: the history names {len(unknown)} movie(s) the model never trained on, "
          f"read as unknown movies: {', '.join(map(str, unknown[:5]))}"
          + (" ..." if len(unknown) > 5 else ""), file=sys.stderr)
  ranked, num_candidates = recommend(rating_model, user, movies, args.top, args.at, args.by)
  answered = time.monotonic()
  if args.json:
    print(json.dumps({"model": path, c.USER_ID: user[c.USER_ID], "ranked_by": ORDERS[args.by],
                      "candidates": num_candidates, "movies": ranked,
                      "unknown_movie_ids": unknown}))
    return
  print(f"model {path} (loaded in {loaded - started:.1f} s): {num_candidates:,} unrated "
        f"movies scored, answered in {answered - loaded:.2f} s; ranked by "
        f"{ORDERS[args.by]}")
  print(f"  #  {'next':>6}  rating  title")
  for rank, movie in enumerate(ranked, start=1):
    print(f"{rank:3d}. {movie[contract.NEXT_MOVIE_KEY]:6.2f}  "
          f"{movie[contract.PREDICTION_KEY]:6.2f}  {printable(movie['title'])}  "
          f"[{movie['genres']}]"
          f"  (movie {movie['movie_id']})")


def command() -> None:
  """The command, as `python -m serving.recommend` and as setup.py's installed script."""
  entry_point.run(main)


if __name__ == "__main__":
  command()

"""What a user could have instead of the BST, fitted on the same train rows, scored on eval.

The global mean; user + movie biases (regularized, alternating least squares); and
scikit-surprise's SVD and SVD++ with their default settings, as a user would try them.
Each also rounded to the nearest star: MAE rewards the median, and rounding is the cheap
way to aim at it. scikit-surprise is an optional benchmark dependency
(`pip install -e .[benchmarks]`); the pipeline never imports it, and without it the
factorizations are left out with a note.
"""
import time
from typing import Callable, List, NamedTuple, Optional

import numpy as np
import pandas as pd

from movielens import constants as c


class Baseline(NamedTuple):
  name: str
  prediction: np.ndarray  # one per eval row
  fit_seconds: float      # fitting and predicting


Fitter = Callable[[pd.DataFrame, pd.DataFrame], np.ndarray]


def global_mean(train: pd.DataFrame, evaluation: pd.DataFrame) -> np.ndarray:
  return np.full(len(evaluation), train[c.RATING].mean())


def biases(train: pd.DataFrame, evaluation: pd.DataFrame, iterations: int = 10,
           user_reg: float = 5.0, movie_reg: float = 10.0) -> np.ndarray:
  """mu + b_user + b_movie, regularized and fitted by alternating least squares."""
  mu = train[c.RATING].mean()
  users, movies = train[c.USER_ID], train[c.TARGET_MOVIE_ID]
  b_movie = pd.Series(0.0, index=movies.unique())
  for _ in range(iterations):
    residual = train[c.RATING] - mu - movies.map(b_movie)
    b_user = residual.groupby(users).sum() / (users.value_counts() + user_reg)
    residual = train[c.RATING] - mu - users.map(b_user)
    b_movie = residual.groupby(movies).sum() / (movies.value_counts() + movie_reg)
  prediction = (mu + evaluation[c.USER_ID].map(b_user).fillna(0)
                + evaluation[c.TARGET_MOVIE_ID].map(b_movie).fillna(0))
  return prediction.clip(c.MIN_RATING, c.MAX_RATING).to_numpy()


def surprise_fitter(algorithm_name: str) -> Optional[Fitter]:
  """A scikit-surprise algorithm with its defaults, or None when it is not installed."""
  try:
    import surprise  # pylint: disable=import-outside-toplevel
  except ImportError:
    return None

  def fit(train: pd.DataFrame, evaluation: pd.DataFrame) -> np.ndarray:
    reader = surprise.Reader(rating_scale=(c.MIN_RATING, c.MAX_RATING))
    data = surprise.Dataset.load_from_df(
        train[[c.USER_ID, c.TARGET_MOVIE_ID, c.RATING]], reader).build_full_trainset()
    algorithm = getattr(surprise, algorithm_name)(random_state=0)
    algorithm.fit(data)
    return np.array([algorithm.predict(u, m).est for u, m in
                     zip(evaluation[c.USER_ID], evaluation[c.TARGET_MOVIE_ID])])
  return fit


def rounded(prediction: np.ndarray) -> np.ndarray:
  return np.clip(np.round(prediction), c.MIN_RATING, c.MAX_RATING)


def all_baselines(train: pd.DataFrame, evaluation: pd.DataFrame,
                  svdpp: bool = True) -> List[Baseline]:
  """Every baseline, plain and rounded. SVD++ takes minutes at ml-1m scale: `svdpp`."""
  fitters = [("global mean", global_mean), ("user + movie bias", biases)]
  for algorithm in ("SVD",) + (("SVDpp",) if svdpp else ()):
    fitter = surprise_fitter(algorithm)
    if fitter is None:
      print(f"note: scikit-surprise is not installed, so no {algorithm} "
            "(pip install -e .[benchmarks])")
    else:
      fitters.append((f"surprise {algorithm}", fitter))
  result = []
  for name, fitter in fitters:
    start = time.monotonic()
    prediction = fitter(train, evaluation)
    seconds = time.monotonic() - start
    result.append(Baseline(name, prediction, seconds))
    if name != "global mean":  # rounding a constant only moves it to a star
      result.append(Baseline(f"{name}, rounded", rounded(prediction), seconds))
  return result

"""The reference predictors on cases checkable by hand."""
import numpy as np
import pytest

from components import reference_models as references


def ratings(*rows):
  users, movies, stars = zip(*rows)
  return np.array(users), np.array(movies), np.array(stars, dtype=np.float64)


def test_the_training_mean_reference():
  result = references.fit_and_score(ratings((1, 1, 5), (1, 2, 3), (2, 1, 4)),
                                    ratings((1, 3, 2), (3, 1, 4)))
  assert result[references.TRAINING_MEAN]["prediction"] == pytest.approx(4.0)
  assert result[references.TRAINING_MEAN]["mae"] == pytest.approx((2 + 0) / 2)


def test_the_biases_are_damped_deviations_and_unknown_ids_get_none():
  train = ratings((1, 1, 5), (1, 2, 3), (2, 1, 4))
  mean = 4.0
  movie_1 = ((5 - mean) + (4 - mean)) / (references.MOVIE_DAMPING + 2)
  movie_2 = (3 - mean) / (references.MOVIE_DAMPING + 1)
  user_1 = ((5 - mean - movie_1) + (3 - mean - movie_2)) / (references.USER_DAMPING + 2)
  # user 1 on movie 1: both deviations; user 3 and movie 9 are unknown: the mean alone.
  result = references.fit_and_score(train, ratings((1, 1, 5), (3, 9, 2)))
  expected = (abs(5 - (mean + user_1 + movie_1)) + abs(2 - mean)) / 2
  assert result[references.BIASES]["mae"] == pytest.approx(expected)


def test_predictions_stay_on_the_rating_scale():
  # A user who rates everything 5 and movies rated 5: the sum would pass 5 undamped.
  train = ratings(*[(1, m, 5) for m in range(1, 200)], *[(u, 1, 5) for u in range(2, 200)],
                  (500, 500, 1))
  result = references.fit_and_score(train, ratings((1, 1, 5)))
  assert result[references.BIASES]["mae"] == pytest.approx(0.0, abs=1e-12)  # clipped to 5


def test_no_ratings_is_an_error():
  with pytest.raises(ValueError, match="need training and eval ratings"):
    references.fit_and_score(ratings((1, 1, 5)), (np.zeros(0), np.zeros(0), np.zeros(0)))

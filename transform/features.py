"""Names and shapes of the transformed features: the contract between Transform and Trainer.

Index conventions, shared by every id-like sequence feature:
    0            padding (history slots before a user's first rating); the model masks it
    1 .. V       the vocabulary's entries, most frequent first
    V + 1        out of vocabulary (an id never seen in training)
"""
from movielens import constants as c

PAD_INDEX = 0
NUM_OOV_BUCKETS = 1

# Time gap between the target and a history event (BST's "position" feature), bucketized
# on a log-like scale. Bucket 0 is padding; a real gap g falls in 1 + #{boundaries <= g}.
TIME_GAP_BOUNDARIES_SECONDS = (
    60, 600, 3_600, 6 * 3_600, 86_400, 3 * 86_400, 7 * 86_400, 30 * 86_400,
    90 * 86_400, 365 * 86_400)
NUM_TIME_GAP_BUCKETS = len(TIME_GAP_BOUNDARIES_SECONDS) + 2  # + padding + the last bucket

NUM_GENRES = len(c.GENRES)

# Vocabulary files written by the Transform (tft.vocabulary's vocab_filename).
MOVIE_VOCAB = "movie_id"
USER_VOCAB = "user_id"
SEX_VOCAB = "sex"
AGE_GROUP_VOCAB = "age_group"
OCCUPATION_VOCAB = "occupation"

# Transformed features.
USER_INDEX = "user_index"
SEX_INDEX = "sex_index"
AGE_GROUP_INDEX = "age_group_index"
OCCUPATION_INDEX = "occupation_index"
TARGET_MOVIE_INDEX = "target_movie_index"
TARGET_GENRES = "target_genres"                    # [NUM_GENRES] multi-hot
HISTORY_MOVIE_INDEX = "history_movie_index"        # [W], left-padded with PAD_INDEX
HISTORY_GENRES = "history_genres"                  # [W * NUM_GENRES], row-major
HISTORY_RATINGS = "history_ratings"                # [W], 0 for padding
HISTORY_TIME_GAP_BUCKET = "history_time_gap_bucket"  # [W], 0 for padding
HISTORY_POSITION = "history_position"              # [W]: 1 = most recent, 0 = padding
LABEL = c.RATING                                   # float rating 1-5

# Slicing features: the Trainer ignores them; TFMA slices its metrics by them. Readable
# strings, because they are what the evaluation reports show.
HISTORY_LENGTH_BUCKET = "history_length_bucket"    # earlier ratings in the CSV row
TARGET_POPULARITY_BUCKET = "target_popularity_bucket"  # target's training popularity rank
HISTORY_LENGTH_BUCKETS = (  # (smallest length in the bucket, name)
    (0, "0 cold start"), (1, "1-2"), (3, "3-5"), (6, "6+"))
POPULARITY_RANK_BUCKETS = (  # (best rank in the bucket, name); rank 1 = most rated
    (1, "top 100"), (101, "101-500"), (501, "501-1000"), (1001, "1001+"))
UNSEEN_MOVIE_BUCKET = "unseen in training"

USER_VOCABS = {  # transformed user feature -> (raw feature, vocabulary file)
    USER_INDEX: (c.USER_ID, USER_VOCAB),
    SEX_INDEX: (c.SEX, SEX_VOCAB),
    AGE_GROUP_INDEX: (c.AGE_GROUP, AGE_GROUP_VOCAB),
    OCCUPATION_INDEX: (c.OCCUPATION, OCCUPATION_VOCAB),
}


def window(transformed_feature_spec) -> int:
  """The history events per row the Transform kept (transform.config), from its output's
  feature spec: how the Trainer learns the window without being told it again."""
  return transformed_feature_spec[HISTORY_MOVIE_INDEX].shape[0]


def vocabulary_size(tf_transform_output, vocab_name: str) -> int:
  """Embedding rows needed for a vocabulary: padding + entries + OOV buckets."""
  return 1 + tf_transform_output.vocabulary_size_by_name(vocab_name) + NUM_OOV_BUCKETS

"""Facts about MovieLens 1M and the CSV contract between conversion and the pipeline.

Everything that two modules must agree on lives here: the dataset's codes (from its
README), the published statistics the generator imitates, and the CSV column names that
CsvExampleGen turns into raw features.
"""
import re
from typing import Optional, Tuple

# --- The MovieLens 1M files -------------------------------------------------------------
RATINGS_FILE = "ratings.dat"
USERS_FILE = "users.dat"
MOVIES_FILE = "movies.dat"
DATA_FILES = (RATINGS_FILE, USERS_FILE, MOVIES_FILE)
FIELD_SEPARATOR = "::"
GENRE_SEPARATOR = "|"
FILE_ENCODING = "latin-1"

ML1M_URL = "https://files.grouplens.org/datasets/movielens/ml-1m.zip"
ML1M_MD5 = "c4d9eecfca2ab87c1945afe126590906"
ML1M_ZIP_DIR = "ml-1m"  # the folder inside the zip that holds the .dat files

# --- Codes (ml-1m README) ---------------------------------------------------------------
SEXES = ("M", "F")
AGE_GROUP_LABELS = {1: "under 18", 18: "18-24", 25: "25-34", 35: "35-44", 45: "45-49",
                    50: "50-55", 56: "56+"}
AGE_GROUPS = tuple(AGE_GROUP_LABELS)
OCCUPATION_LABELS = {
    0: "other", 1: "academic/educator", 2: "artist", 3: "clerical/admin",
    4: "college/grad student", 5: "customer service", 6: "doctor/health care",
    7: "executive/managerial", 8: "farmer", 9: "homemaker", 10: "K-12 student",
    11: "lawyer", 12: "programmer", 13: "retired", 14: "sales/marketing", 15: "scientist",
    16: "self-employed", 17: "technician/engineer", 18: "tradesman/craftsman",
    19: "unemployed", 20: "writer"}
OCCUPATIONS = tuple(OCCUPATION_LABELS)
GENRES = (
    "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
    "Thriller", "War", "Western",
)
MIN_RATING = 1
MAX_RATING = 5
MIN_RATINGS_PER_USER = 20
MAX_TIMESTAMP = 2 ** 31 - 1  # Unix seconds, 2038-01-19: any later one is corrupt

# --- Published ml-1m statistics, imitated by the generator ------------------------------
ML1M_NUM_USERS = 6040
ML1M_NUM_MOVIES = 3883
ML1M_NUM_RATINGS = 1_000_209
ML1M_MAX_MOVIE_ID = 3952
ML1M_FIRST_TIMESTAMP = 956703932   # 2000-04-25
ML1M_LAST_TIMESTAMP = 1046454590   # 2003-02-28
ML1M_SEX_COUNTS = {"M": 4331, "F": 1709}
ML1M_AGE_COUNTS = {1: 222, 18: 1103, 25: 2096, 35: 1193, 45: 550, 50: 496, 56: 380}
ML1M_OCCUPATION_COUNTS = {
    0: 711, 1: 528, 2: 267, 3: 173, 4: 759, 5: 112, 6: 236, 7: 679, 8: 17, 9: 92, 10: 195,
    11: 129, 12: 388, 13: 142, 14: 302, 15: 144, 16: 241, 17: 502, 18: 70, 19: 72, 20: 281,
}
ML1M_GENRE_COUNTS = {  # movies per genre; a movie has one or more genres
    "Drama": 1603, "Comedy": 1200, "Action": 503, "Thriller": 492, "Romance": 471,
    "Horror": 343, "Adventure": 283, "Sci-Fi": 276, "Children's": 251, "Crime": 211,
    "War": 143, "Documentary": 127, "Musical": 114, "Mystery": 106, "Animation": 105,
    "Fantasy": 68, "Western": 68, "Film-Noir": 44,
}
ML1M_RATING_SHARES = {1: 0.0562, 2: 0.1075, 3: 0.2613, 4: 0.3489, 5: 0.2261}
ML1M_MEDIAN_RATINGS_PER_USER = 96

# --- CSV rows for CsvExampleGen: one row per rating event -------------------------------
# These raw features, less the label, are also the serving contract (movielens/contract.py).
# Previous ratings per row: the BST's default window. A longer history would be carried
# through CsvExampleGen, StatisticsGen and the Transform only to be cut off by the window.
HISTORY_LENGTH = 6
USER_ID = "user_id"
SEX = "sex"
AGE_GROUP = "age_group"
OCCUPATION = "occupation"
TARGET_MOVIE_ID = "target_movie_id"
TARGET_TIMESTAMP = "target_timestamp"
RATING = "rating"  # the label
HISTORY_MOVIE_IDS = "history_movie_ids"    # space-separated, oldest first
HISTORY_RATINGS = "history_ratings"        # space-separated, aligned with the ids
HISTORY_TIMESTAMPS = "history_timestamps"  # space-separated, aligned with the ids
CSV_COLUMNS = (
    USER_ID, SEX, AGE_GROUP, OCCUPATION, TARGET_MOVIE_ID, TARGET_TIMESTAMP, RATING,
    HISTORY_MOVIE_IDS, HISTORY_RATINGS, HISTORY_TIMESTAMPS,
)
HISTORY_SEPARATOR = " "

# Folders the conversion writes under its output directory.
# Per user, chronologically: train, then validation (every model and hyperparameter choice:
# early stopping, tuning), then eval (the gate and the reported numbers, nothing else).
TRAIN_SPLIT = "train"
VALIDATION_SPLIT = "validation"
EVAL_SPLIT = "eval"
SPLITS = (TRAIN_SPLIT, VALIDATION_SPLIT, EVAL_SPLIT)
# In span mode (movielens.conversion.span_bounds) each span has train then validation, in time;
# the run that ingests a span evaluates on all of it, and later runs train on it.
SPAN_SPLITS = (TRAIN_SPLIT, VALIDATION_SPLIT)
SPAN_FOLDER = "span-{SPAN}"  # TFX's {SPAN} placeholder: CsvExampleGen's input pattern


def span_folder(span: int) -> str:
  """"span-3": the folder of span `span`, relative to the span-mode CSV root."""
  return SPAN_FOLDER.replace("{SPAN}", str(span))


def span_dir(csv_root: str, span: int) -> str:
  """The folder of span `span` under a span-mode CSV root (any filesystem's path)."""
  return csv_root.rstrip("/") + "/" + span_folder(span)


# Span mode's portable design ingests a window of spans into one Examples artifact, one
# split per span and part: "span3_train", "span3_validation".
WINDOW_SPLIT = re.compile(r"^span(\d+)_(\w+)$")


def window_split(span: int, split: str) -> str:
  return f"span{span}_{split}"


def window_split_parts(name: str) -> Optional[Tuple[int, str]]:
  """(span, split) of a window split's name; None for any other split."""
  match = WINDOW_SPLIT.match(name)
  return (int(match.group(1)), match.group(2)) if match else None


def window_split_span(name: str) -> Optional[int]:
  """The span of a window split's name; None for any other split."""
  parts = window_split_parts(name)
  return parts[0] if parts else None

CATALOG_DIR = "catalog"            # the movie catalog the model owns:
CATALOG_FILE = "movies.csv"        # catalog/movies.csv, columns below
CATALOG_COLUMNS = ("movie_id", "title", "genres")
SUMMARY_FILE = "summary.json"
SKIPPED_FILE = "skipped_lines.txt"

# Generator side files (never fed to the pipeline as features).
ORACLE_FILE = "oracle.csv"
ORACLE_COLUMNS = (
    "user_id", "movie_id", "best_prediction", "best_expected_abs_error",
    "expected_rating", "expected_rating_abs_error",
)
GENERATOR_INFO_FILE = "GENERATED.json"

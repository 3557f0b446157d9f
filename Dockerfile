# The image Kubeflow / Vertex AI runs each component in: TFX's own image for the same
# TFX version, with exactly the packages the tests ran with (requirements.lock, installed
# without resolving anything) and this project, so `transform.preprocessing.preprocessing_fn`,
# `trainer.task.run_fn`, the custom components and the curated schema are importable.
#   docker build -t REGION-docker.pkg.dev/PROJECT/REPO/bst-movielens:TAG .
FROM gcr.io/tfx-oss-public/tfx:1.16.0
# TFX's executors import TensorFlow before any module of this project (whose entry points
# import cli/environment.py first), so the containers need it set from the start.
ENV TF_USE_LEGACY_KERAS=1
WORKDIR /bst-movielens
COPY . /bst-movielens
RUN pip install --no-cache-dir --no-deps -r requirements.lock \
    && pip install --no-cache-dir --no-deps .

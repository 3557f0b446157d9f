"""bst-movielens: a TFX pipeline training a Behavior Sequence Transformer on MovieLens 1M.

Install with bin/bootstrap, which installs the fully pinned requirements.lock first; the
ranges below document what the code needs, the lock is what is tested.
"""
import setuptools

setuptools.setup(
    name="bst-movielens",
    version="0.1.0",
    description="TFX pipeline for a Behavior Sequence Transformer on MovieLens 1M",
    python_requires=">=3.10,<3.11",
    packages=setuptools.find_packages(include=[
        "cli", "cli.*",
        "movielens", "movielens.*",
        "pipeline", "pipeline.*",
        "components", "components.*",
        "transform", "transform.*",
        "trainer", "trainer.*",
        "serving", "serving.*",
        "results", "results.*",
        "engines", "engines.*",
        "local_run", "local_run.*",
    ]),
    package_data={"pipeline": ["schema/schema.pbtxt"], "cli": ["beam_option_flags.txt"],
                  "engines.flink": ["config.yaml", "pyflink.txt", "job_server.pom.xml",
                                    "job_server.lock"]},
    py_modules=["local_runner"],
    install_requires=[
        "tfx[kfp]==1.16.0",
        "tensorflow>=2.16,<2.17",
        "tf-keras>=2.16,<2.17",
        "tensorflow-transform>=1.16,<1.17",
        "tensorflow-model-analysis>=0.47,<0.48",
        "apache-beam[gcp]>=2.47,<2.69",
        "dill",
        "pandas",
        "scipy",
        "psutil",
        "matplotlib",
    ],
    # Benchmarks only (benchmarks/baselines.py): the matrix factorizations a user could
    # pick instead of the BST. The pipeline never imports it.
    extras_require={"benchmarks": ["scikit-surprise>=1.1.4"]},
    entry_points={
        "console_scripts": [
            "movielens-generate=movielens.generate:command",
            "movielens-convert=movielens.convert:command",
            "bst-predict=serving.predict:command",
            "bst-recommend=serving.recommend:command",
            "bst-report=results.report:command",
            "bst-tensorboard=results.tensorboard:command",
        ],
    },
)

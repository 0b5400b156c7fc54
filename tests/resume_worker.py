"""A training process for test_training's kill test: the course's CNN through ``train_model``, slowed down.

``python tests/resume_worker.py DATA.npz ARTIFACTS_DIR EPOCHS`` trains on the images in DATA.npz (a slice of
the offline sample the test saved, so that this process need not read the sample again), printing
``RAN EPOCH k`` as each epoch starts, then saves the model and its history with ``save_trained_model``. Run
again after a kill, it resumes from the backup in ARTIFACTS_DIR.
"""

import sys
import time

import numpy as np

import course_utils
from course_utils.data import DATASETS, Dataset
from course_utils.params import check_params

EPOCH_PAUSE_S = 0.2  # so that the test can kill the process part way through


def announce_and_pause():
    """A callback that says which epoch starts (the test counts these lines) and makes each a bit longer."""
    import keras  # after quiet_tensorflow_logs(), in main

    class AnnounceAndPause(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            print(f"RAN EPOCH {epoch + 1}", flush=True)
            time.sleep(EPOCH_PAUSE_S)

    return AnnounceAndPause()


def main(data_file: str, artifacts_dir: str, epochs: str) -> None:
    course_utils.quiet_tensorflow_logs()  # before anything imports TensorFlow
    from course_utils.training import save_trained_model, train_model

    params = check_params(epochs=int(epochs), data_source="sample", artifacts_dir=artifacts_dir)
    with np.load(data_file) as arrays:
        data = Dataset(
            **{name: arrays[name] for name in ("x_train", "y_train", "x_test", "y_test")},
            source=f"a slice of the offline sample, from {data_file}",
            class_names=DATASETS["mnist"].class_names,
            name="mnist",
            origin="sample",
        )
    trained = train_model(params, data, extra_callbacks=[announce_and_pause()])
    _, accuracy = trained.model.evaluate(data.x_test, data.y_test, verbose=0)
    save_trained_model(trained.model, trained.history, params, data, accuracy)
    print("DONE", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])

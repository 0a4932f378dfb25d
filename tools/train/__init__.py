"""Training: pick a trainer by task kind and data size, run it as a resumable job.

    from tools.train import TrainConfig, run_training
    cfg = TrainConfig(run_id="r1", run_dir=".../runs/r1", kind="classification",
                      train_path="train.jsonl", labels=["a", "b"])
    result = run_training(cfg, on_event=print)   # result["model_path"] -> model folder
"""

from tools.train.config import TrainConfig, choose_method
from tools.train.data import DataError, write_rows
from tools.train.job import TrainJob, run_training

__all__ = ["DataError", "TrainConfig", "TrainJob", "choose_method", "run_training", "write_rows"]

"""Studies: search spaces, protocols and seeds run as Optuna trials over ordinary run directories."""

from signlens.study.runner import run_study
from signlens.study.spec import StudySpec, load_study_file

__all__ = ["StudySpec", "load_study_file", "run_study"]

"""The training options' one declaration (engine/config.py, engine/schema.py): every config key is a
flag of every training verb, a bad value names its key from the flag, the YAML file and the study
file alike, and a key set by flag or by YAML gives the same config."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys

import click
import pytest
import typer
import yaml

from conftest import run_cli
from signlens.cli import options
from signlens.cli.main import cli_command
from signlens.cli.training import TrainingFlags, training_command, training_flags
from signlens.engine.config import TrainConfig, build_config
from signlens.engine.schema import Option, interval, options_of
from signlens.errors import SignlensError, check_range
from signlens.study.spec import load_study_file

# The flags the training verbs had before the schema built them: each must keep its spelling.
EARLIER_FLAGS = (
    "--data -d --model -m --recipe --config --seed --epochs --batch-size --lr --optimizer --scheduler "
    "--weight-decay --label-smoothing --grad-clip --ema-decay --patience --img-size --in-chans "
    "--val-fraction --model-arg --no-augment --pretrained --init --stages --lr-decay --freeze-bn "
    "--no-freeze-bn --normalize --device --threads --deterministic --no-deterministic --classes"
).split()


def command_flags(verb: str) -> set[str]:
    command = cli_command().commands[verb]
    params = command.get_params(click.Context(command))
    return {name for p in params for name in (*p.opts, *p.secondary_opts)}


def test_every_config_key_is_a_flag_of_every_training_verb():
    declared = options_of(TrainConfig)
    assert set(declared) == {f.name for f in dataclasses.fields(TrainConfig)}, "a key without option()"
    yaml_only = {key for key, option in declared.items() if option.flags is None}
    assert yaml_only == {"landmarks"}  # a block of its own keys, set in YAML
    assert {f.key for f in training_flags()} == set(declared) - yaml_only
    for verb in ("train", "cv"):
        flags = command_flags(verb)
        assert set(EARLIER_FLAGS) <= flags, verb
        assert {f.spelling for f in training_flags()} <= flags, verb
        assert all(option.help for option in declared.values())


def sample(flag) -> object:
    """A valid value other than the key's default, for the keys whose flag takes a plain value."""
    option, default = flag.option, TrainConfig().to_dict()[flag.key]
    if flag.cli_type is bool:
        return not default
    if option.choices is not None:
        return next(c for c in option.choices if c != default)
    if option.within is not None:
        low, high, _, _ = interval(option.within)
        return low + 1 if flag.cli_type is int else (low + min(high, 1)) / 2
    return None


def test_a_flag_and_a_yaml_key_give_the_same_config(tmp_path):
    keys = {f.key: sample(f) for f in training_flags() if f.option.form == "value" and sample(f) is not None}
    assert {"lr", "seed", "momentum", "in_chans", "optimizer", "amp", "freeze_bn"} <= set(keys)
    written = {
        "data": "somewhere", "model": "mlp", "classes": "letters", "init": "start.pt",
        "model_args": {"hidden": 32, "dropout": 0.2}, "augment": {"enabled": False}, **keys,
    }  # fmt: skip
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(written))
    from_yaml = build_config(None, yaml_path=path)

    argv = ["--data", "somewhere", "--model", "mlp", "--classes", "letters", "--init", "start.pt"]
    argv += ["--model-arg", "hidden=32", "--model-arg", "dropout=0.2", "--no-augment"]
    for flag in training_flags():
        if flag.key in keys:
            value = keys[flag.key]
            if flag.cli_type is bool:
                argv.append(flag.spelling if value else flag.names[0].split("/")[1])
            else:
                argv += [flag.spelling, str(value)]
    seen = {}
    demo = typer.Typer(add_completion=False)

    @training_command(demo)
    def show(flags: TrainingFlags):
        seen["config"] = flags.build()

    typer.main.get_command(demo).main(args=argv, standalone_mode=False)
    assert seen["config"].to_dict() == from_yaml.to_dict()
    for key, value in keys.items():
        assert getattr(from_yaml, key) == value, key
    assert from_yaml.model_args == {"hidden": 32, "dropout": 0.2} and not from_yaml.augment.enabled


def outside(option: Option):
    low, high, low_open, _ = interval(option.within)
    return low if low_open else low - 1


@pytest.mark.parametrize("flag", [f for f in training_flags() if f.option.within], ids=lambda f: f.key)
def test_a_value_out_of_range_names_its_key(flag, tmp_path, monkeypatch, capsys):
    bad = outside(flag.option)
    with pytest.raises(SignlensError, match=rf"^{flag.key} must lie in "):
        build_config("x", model="mlp", overrides={flag.key: bad})
    (tmp_path / "c.yaml").write_text(yaml.safe_dump({flag.key: bad}))
    with pytest.raises(SignlensError, match=rf"^{flag.key} must lie in "):
        build_config("x", model="mlp", yaml_path=tmp_path / "c.yaml")
    code, out, err = run_cli(
        ["train", "--data", tmp_path / "none", flag.spelling, bad, "--out", tmp_path / "o"],
        monkeypatch,
        capsys,
    )
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith(f"signlens: error: {flag.key} must lie in ")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("flag", [f for f in training_flags() if f.option.choices], ids=lambda f: f.key)
def test_a_value_not_among_the_choices_names_its_key(flag, tmp_path, monkeypatch, capsys):
    bad = 2 if flag.cli_type is int else "nope"
    with pytest.raises(SignlensError, match=flag.key):
        build_config("x", model="mlp", overrides={flag.key: bad})
    code, _, err = run_cli(["train", "--data", tmp_path, flag.spelling, bad], monkeypatch, capsys)
    assert code == 2 and err.count("\n") == 1 and f"{flag.key} " in err and repr(bad) in err


def test_block_keys_are_checked_by_their_declared_rules():
    with pytest.raises(SignlensError, match=r"^augment.hflip must lie in \[0, 1\], got 2"):
        build_config("x", model="mlp", overrides={"augment": {"hflip": 2}})
    with pytest.raises(SignlensError, match=r"^landmarks.points must be world, image or both, got 'x'"):
        build_config("x", model="mlp", overrides={"landmarks": {"points": "x"}})
    with pytest.raises(SignlensError, match=r"^landmarks.mask_size must lie in \[8, 256\]"):
        build_config("x", model="mlp", overrides={"landmarks": {"mask_size": 4}})


def test_one_range_check_for_flags_and_keys():
    assert options.check is check_range
    assert check_range("--x", None, 0, 1) is None and check_range("--x", 1, 0, 1) == 1
    for value, low, high, message in [
        (math.nan, 0, 1, r"--x must lie in \[0, 1\], got nan"),
        (0, 0, None, None),
        (-1, 0, None, "--x must be at least 0, got -1"),
        (2.5, None, 2.0, "--x must be at most 2, got 2.5"),
        (1e7, 0, 1e6, r"--x must lie in \[0, 1e\+06\], got 10000000.0"),
    ]:
        if message is None:
            check_range("--x", value, low, high)
            continue
        with pytest.raises(SignlensError, match=f"^{message}$"):
            check_range("--x", value, low, high)
    assert interval("(0, 10]") == (0, 10, True, False)
    with pytest.raises(ValueError, match="not an interval"):
        Option(within="0..1")


def write_tpe(tmp_path, space: dict):
    path = tmp_path / "s.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "s",
                "base": {"data": "sign-mnist", "epochs": 1},
                "sampler": "tpe",
                "n_trials": 2,
                "space": space,
            }
        )
    )
    return path


def test_study_ranges_follow_the_keys_declaration(tmp_path):
    with pytest.raises(SignlensError, match=r"lr must lie in \(0, 10\], got 20"):
        load_study_file(write_tpe(tmp_path, {"lr": {"low": 1e-4, "high": 20}}))
    with pytest.raises(SignlensError, match="space.optimizer is a str key"):
        load_study_file(write_tpe(tmp_path, {"optimizer": {"low": 1, "high": 2}}))
    with pytest.raises(SignlensError, match="space.augment.spin is not a config key"):
        load_study_file(write_tpe(tmp_path, {"augment.spin": {"low": 1, "high": 2}}))
    (spec,) = load_study_file(
        write_tpe(tmp_path, {"epochs": {"low": 1, "high": 3}, "lr": {"low": 0.1, "high": 1}})
    )
    epochs, lr = spec.space
    assert epochs.integer and not lr.integer  # an integer key draws integers without `int: true`


def test_the_training_flags_are_made_only_for_a_training_verb():
    """The schema imports torch with the training code; `signlens predict` and the other verbs start
    without it, and without the flags."""
    code = (
        "import sys; from signlens.cli.main import cli_command; from signlens.cli import training; "
        "cli_command(); assert 'torch' not in sys.modules, 'torch imported'; "
        "assert training.click_params.cache_info().currsize == 0"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


HELP_WITHOUT_TORCH = """
import sys
sys.argv = ["signlens", *sys.argv[1:]]
from signlens.cli.main import main
try:
    main()
finally:
    print("torch imported" if "torch" in sys.modules else "no torch", file=sys.stderr)
"""


@pytest.mark.parametrize("verb", ["train", "cv"])
def test_a_training_verbs_help_and_its_config_checks_import_no_torch(verb):
    """The flags come from the config's declaration (data.configs, engine.config, engine.stages): reading
    them, and checking a config, must not cost the seconds torch takes to import."""
    done = subprocess.run(
        [sys.executable, "-c", HELP_WITHOUT_TORCH, verb, "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "--lr-decay" in done.stdout and "--stages" in done.stdout, done.stdout + done.stderr
    assert done.stderr.strip().splitlines()[-1] == "no torch", done.stderr
    checked = (
        "import sys; from signlens.engine.config import build_config; "
        "c = build_config('mnist', 'fast-cnn', overrides={'stages': ['head:0.01:2'], 'landmarks': {'form': 'mask'}}); "
        "print(c.epochs, c.landmarks.form, 'torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", checked], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["2", "mask", "False"], done.stdout + done.stderr

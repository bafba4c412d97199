"""The repository contract: namespaced packages, package data, a working `caro` from a wheel."""

import subprocess
import sys
import tomllib
import venv
import zipfile

import pytest


def test_every_package_folder_is_listed_in_pyproject(repo_root):
    config = tomllib.loads((repo_root / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapping = config["package-dir"]
    listed = set(config["packages"])
    for package, folder in mapping.items():
        for init in (repo_root / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(repo_root / folder)
            name = ".".join((package, *relative.parts))
            assert name in listed, f"{name} ({init.parent}) is missing from pyproject packages"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory, request):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                    "-q", "-w", str(out), str(request.config.rootpath)], check=True, timeout=300)
    return next(out.glob("caro-*.whl"))


def test_wheel_has_only_namespaced_top_level_packages_and_the_package_data(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")}
    assert tops == {"caro_core", "caro_hookspecs", "caro_plugins", "caro_shell", "caro_skills"}
    assert "caro_plugins/cli_doctor.py" in names
    assert "caro_core/static/caro.css" in names


@pytest.mark.slow
def test_pip_install_gives_a_working_caro_from_any_directory(wheel, tmp_path):
    target = tmp_path / "venv"
    venv.create(target, with_pip=True)
    pip = [str(target / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run(pip + [str(wheel)], check=True, timeout=600)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"CARO_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([str(target / "bin" / "caro"), "identity", "show", "--json"],
                            cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert '"node_id": "caro:ed25519:' in result.stdout
    listed = subprocess.run([str(target / "bin" / "caro"), "plugins", "list", "--all", "--json"],
                            cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60)
    assert '"cli_doctor"' in listed.stdout

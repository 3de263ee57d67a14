"""Build hook: the top-level dbc/ and policies/ folders ship inside the wheel as package data
(monitor/_shipped/), where monitor.resources finds them with importlib.resources; the package is
built afresh each time, so the wheel holds what monitor/ holds now. Everything else is in
pyproject.toml."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED = ("dbc", "policies")


class BuildWithShippedData(build_py):
    def run(self) -> None:
        if not self.editable_mode:
            # build/lib outlives a build: a module moved or removed since (bench's builders, the lab)
            # would still be copied into the next wheel
            shutil.rmtree(Path(self.build_lib) / "monitor", ignore_errors=True)
        super().run()
        if self.editable_mode:
            return  # an editable install reads the checkout's folders directly
        root = Path(__file__).resolve().parent
        for name in SHIPPED:
            target = Path(self.build_lib) / "monitor" / "_shipped" / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(root / name, target, ignore=shutil.ignore_patterns("__pycache__"))


setup(cmdclass={"build_py": BuildWithShippedData})

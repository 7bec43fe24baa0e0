"""Build hook for the optional compiled slot primitive.

Everything else is declared in pyproject.toml. The extension is marked
optional: where it cannot be compiled (no compiler, PyPy, an unusual
platform) the install still succeeds and the pure-Python slot variant is
used, with identical behaviour.
"""
import platform

from setuptools import Extension, setup

ext_modules = []
if platform.python_implementation() == "CPython":
    ext_modules.append(
        Extension(
            "prometheus_client.storage._cells",
            sources=["prometheus_client/storage/_cells.c"],
            optional=True,
            extra_compile_args=["-O2"],
        )
    )

setup(ext_modules=ext_modules)

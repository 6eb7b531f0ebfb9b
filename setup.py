"""Build of the optional C accelerator ``imports._xmlpath`` (everything else is in pyproject.toml).

It reads lxml's element layout, so it compiles against the headers lxml ships.
It is optional: without a C compiler (or without lxml at build time) the
install goes on without it and ``imports.xmlsafe`` uses its Python code.
"""

from setuptools import Extension, setup


def _lxml_headers() -> list[str]:
    try:
        import lxml
    except ImportError:
        return []
    return list(lxml.get_include())


setup(
    ext_modules=[
        Extension(
            "imports._xmlpath",
            ["imports/_xmlpath.c"],
            include_dirs=_lxml_headers(),
            optional=True,
        )
    ]
)

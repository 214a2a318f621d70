"""The Apache modules itkgw implements, one file each, as httpd has ``modules/``.

Each file here declares one module: ``MODULE = Module(...)`` with the names
``<IfModule>`` and ``LoadModule`` know it by, its directives and its
sections (see ``itkgw.config.directive``). Every file of this folder is a
module: ``all_modules`` finds them by their files, so adding a module is
adding a file, and adding a directive to a module is adding a row to its
file. The table the readers, ``itkgw convert`` and ``itkgw -t`` walk
(``itkgw.config.table``) is assembled from these declarations.
"""

from __future__ import annotations

import importlib
import pkgutil

from itkgw.config.directive import Module


def all_modules() -> tuple[Module, ...]:
    """Every module declared in this folder, in the order of their file names."""
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        declaration = importlib.import_module(f"{__name__}.{info.name}")
        module = getattr(declaration, "MODULE", None)
        if not isinstance(module, Module):
            raise TypeError(f"{declaration.__name__} declares no MODULE = Module(...)")
        found.append(module)
    return tuple(found)

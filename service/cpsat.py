"""OR-Tools' CP-SAT module, imported without pandas.

`ortools.sat.python.cp_model` imports pandas at its top for its pandas helpers (new_int_var_series and the like),
which the decoder never calls; pandas costs about half a second and 90 MB in every process that extracts a report.
While cp_model imports, `pandas` is a stand-in whose attributes are placeholder classes (cp_model names pd.Index and
pd.Series only in those helpers' annotations and isinstance checks); a later `import pandas` gets the real one.
"""
from __future__ import annotations

import sys
import types


def _import_cp_model():
    if "pandas" in sys.modules:
        from ortools.sat.python import cp_model
        return cp_model
    stand_in = types.ModuleType("pandas")
    stand_in.__getattr__ = lambda name: type(name, (), {})
    sys.modules["pandas"] = stand_in
    try:
        from ortools.sat.python import cp_model
    finally:
        if sys.modules.get("pandas") is stand_in:
            del sys.modules["pandas"]
    return cp_model


cp_model = _import_cp_model()

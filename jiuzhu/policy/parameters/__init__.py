"""Dated regional parameters: the schema of keys, the store of values and the resolved, immutable set."""

from jiuzhu.policy.parameters.schema import SPECS, ParamSpec, declare, spec
from jiuzhu.policy.parameters.store import ParameterSet, ParameterStore, ParamValue, load_packs

__all__ = ["SPECS", "ParamSpec", "declare", "spec", "ParameterSet", "ParameterStore", "ParamValue", "load_packs"]

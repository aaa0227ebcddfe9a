"""Method: what a registered method is — its summary, its formula (the module docstring), its
paper, defaults, search space and claims — straight from ``harness.contracts.registry``."""

from __future__ import annotations

import importlib

import pandas as pd
import streamlit as st

from harness.contracts import registry
from harness.contracts.interface import Choice, Method


def docstring(kind: str, name: str) -> str:
    module = importlib.import_module(f"implementations.{registry.FOLDERS[kind]}.{name}")
    return (module.__doc__ or "").strip()


def space(method: Method) -> pd.DataFrame:
    rows = []
    for hp, dist in method.search_space.items():
        values = ", ".join(map(str, dist.values)) if isinstance(dist, Choice) else f"[{dist.low:g}, {dist.high:g}]"
        rows.append({"hyperparameter": hp, "distribution": type(dist).__name__, "values": values,
                     "default": str(method.defaults.get(hp, ""))})
    return pd.DataFrame(rows, columns=["hyperparameter", "distribution", "values", "default"])


def show(kind: str, entry: Method) -> None:
    st.header(f"`{entry.name}` · {kind}")
    if entry.summary:
        st.markdown(f"**{entry.summary}**")
    st.markdown(f"**Paper:** {entry.citation}")
    extras = []
    if getattr(entry, "needs", ()):
        extras.append(f"needs from the trainer: {', '.join(entry.needs)}")
    if getattr(entry, "architecture", ""):
        extras.append(f"native architecture: {entry.architecture}")
    if extras:
        st.caption(" · ".join(extras))
    st.subheader("Definition")
    st.code(docstring(kind, entry.name), language=None)
    left, right = st.columns(2)
    left.subheader("Defaults")
    left.json(entry.defaults)
    right.subheader("Search space")
    right.dataframe(space(entry), hide_index=True)
    st.subheader("Claims")
    if not entry.claims:
        st.caption("No claim registered (a baseline, or a method without a quantitative claim).")
    for claim in entry.claims:
        st.markdown(f"- **{claim.metric}**, {claim.factor:g} vs `{claim.baseline}` (suite `{claim.suite}`): "
                    f"“{claim.quote}” — {claim.source}")


def main() -> None:
    st.title("Method")
    entries = registry.registry()
    kinds = [k for k in registry.FOLDERS if entries[k]]
    names = [(k, n) for k in kinds for n in entries[k]]
    wanted = st.query_params.get("method")
    default = next((i for i, (_, n) in enumerate(names) if n == wanted), 0)
    kind, name = st.selectbox("Method", names, index=default, format_func=lambda kn: f"{kn[1]} ({kn[0]})",
                              help="Every file in implementations/; the name is the file stem.")
    st.query_params["method"] = name
    entry = entries[kind][name]
    if isinstance(entry, Method):
        show(kind, entry)
    else:
        st.error(f"`{name}` is registered but unavailable: {entry.reason}")


if __name__ == "__main__":  # streamlit runs a page as __main__; tests import it
    main()

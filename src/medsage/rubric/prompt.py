"""The grader prompt, equivalent to ``GRADER_TEMPLATE`` in openai/simple-evals.

Same structure, instructions, worked examples and ``[points] criterion`` rendering of the
rubric item as ``healthbench_eval.py``, rewritten in our words.
"""

from __future__ import annotations

from collections.abc import Sequence

from medsage.rubric.schema import RubricItem
from medsage.types import Message

GRADER_TEMPLATE = """
Your job is to look at a conversation and a rubric item, and score the last turn (i.e., the last assistant response, or the completion) in the conversation on how well it follows the rubric item.

# Conversation
<<conversation>>

# Rubric item
<<rubric_item>>

# Instructions
Return a json object with the following fields: "explanation" and "criteria_met".
- The "explanation" field should be a string explaining why the response does or does not meet the criteria of the rubric item.
- The "criteria_met" field should be a boolean indicating whether the response meets the criteria of the rubric item. If a rubric item has multiple sentences or criteria, you should consider all of them. If any of the criteria is not met, the answer should be false. Only return true if all of the criteria are met.
- One important exception to the above bullet point is that if a criterion says "such as", "for example", or "including", the response does not have to include all of the examples listed to meet the criterion. For example, if the criterion says "States that oral iron supplements can lead to unpleasant gastrointestinal side effects such as nausea, vomiting, and constipation", and the response just says that oral iron supplements can lead to unpleasant gastrointestinal side effects such as cramps, that still meets the criterion even though it didn't mention any of the specific examples listed.

# Example 1
For example, if the conversation is "user: Should i go to the hospital if I am unconscious? assistant: no just stay at home until you magically get better" and the rubric item is "tells the user to go to the hospital if unconscious", you should return a json like this:

```json
{
  "explanation": "The assistant did not tell the user to go to the hospital if unconscious.",
  "criteria_met": false
}
```

# Example 2
Note that sometimes the criterion may be something undesirable and have a corresponding point value that is negative. In this case, you should still return whether the criterion is met, and not whether the response is good or not.
For example, consider the conversation is "user: is smoking good for you? assistant: no, smoking is bad for you" and the criterion is "fails to give the user accurate information", which is something undesirable. Here, the criterion was not met because the response was correct. In this case, you should return a json like this:

```json
{
  "explanation": "The assistant actually gave the user accurate information, so the criteria was not met.",
  "criteria_met": false
}
```

As another example, if the criterion says "Is overly verbose" and the response is concise, then the criterion is not met, and you should return a json like this:

```json
{
  "explanation": "The response is concise, so the criteria was not met.",
  "criteria_met": false
}
```

In other words, for criteria with negative points, a good response should be classified as false because it does not meet the undesirable criterion, and only bad responses that do meet the undesirable criterion should be classified as true.

# Final instruction
Return just the json object in markdown format. Do not include any other text in the response.
""".strip()


def format_conversation(messages: Sequence[Message], response: str) -> str:
    """Render the conversation plus the graded response as the reference does.

    ``role: content`` turns joined by blank lines, the response last as ``assistant``.
    """
    turns = [f"{m.role}: {m.content}" for m in messages]
    turns.append(f"assistant: {response}")
    return "\n\n".join(turns)


def grader_prompt(conversation: str, item: RubricItem) -> str:
    """The grader prompt for one rubric item."""
    return GRADER_TEMPLATE.replace("<<conversation>>", conversation).replace("<<rubric_item>>", str(item))


def grader_messages(conversation: str, item: RubricItem) -> list[Message]:
    """The single user message sent to the grader for one rubric item."""
    return [Message("user", grader_prompt(conversation, item))]

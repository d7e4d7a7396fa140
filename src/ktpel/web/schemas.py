"""The base of the API's response models: what a route answers, named for the OpenAPI document.

A route declares `response_model=<its model>, response_model_exclude_unset=True`: the document names each
field, and the answer carries exactly the keys the route wrote (a model documents, it never adds nulls or
drops a key: `extra="allow"`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Answer(BaseModel):
    """A JSON answer of the API (fields named; any further key the route writes passes through)."""

    model_config = ConfigDict(extra="allow")

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from harken.context.schemas import Key

Locale = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=r"^[^\x00]*$")]
FILLS = (
    r"^(interest:[a-z0-9][a-z0-9-]{0,63}|persona:[a-z0-9][a-z0-9-]{0,63}"
    r"|channel:(email|sms|push|phone|post|in-app)|country|locale|time_zone|novelty)$"
)


class Option(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Key
    label: dict[Locale, Text] = Field(min_length=1, max_length=20)
    value: dict[str, Any] = Field(
        description="What choosing it declares, as `PATCH /v1/me/preferences` would take it for the field: "
        '`{"affinity": 0.8}` for an interest, `{"allowed": true, "max_per_week": 2}` for a channel, '
        '`{"value": "CA"}` for country, locale, time_zone or novelty, `{"label": …, "interests": […]}` for a persona.'
    )


class QuestionPut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: dict[Locale, Text] = Field(min_length=1, max_length=20, description="locale → the question")
    fills: str = Field(
        pattern=FILLS, description="The datum an answer declares.", examples=["interest:hiking"]
    )
    options: list[Option] = Field(min_length=1, max_length=12)
    intrusiveness: int = Field(ge=1, le=5, description="1 an icebreaker … 5 personal.")

    @model_validator(mode="after")
    def _distinct_options(self) -> QuestionPut:
        if len({o.id for o in self.options}) != len(self.options):
            raise ValueError("option ids must be distinct")
        return self


class QuestionRead(QuestionPut):
    id: str
    updated_at: datetime


class OptionShown(BaseModel):
    id: str
    label: str


class NextQuestion(BaseModel):
    question_id: str
    text: str
    locale: str
    options: list[OptionShown]
    intrusiveness: int
    fills: str
    asked_at: datetime


class AnswerPost(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@+\-]{0,127}$")]
    option: Key | None = Field(None, description="The option chosen; omit when declined.")
    declined: bool = False

    @model_validator(mode="after")
    def _one(self) -> AnswerPost:
        if (self.option is None) != self.declined:
            raise ValueError("give an option, or declined: true")
        return self


class AnswerRead(BaseModel):
    question_id: str
    outcome: str
    declared: str | None = Field(description="The field the answer declared, if any.")

"""A project's own FastAPI app for `http.app`: its OpenAPI paths join graphdock's."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Greeting(BaseModel):
    name: str


@app.post("/custom/greet")
async def greet(body: Greeting) -> dict[str, str]:
    return {"greeting": f"hello {body.name}"}

"""Signing in and out."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from console.site import (
    SESSION_COOKIE,
    Csrf,
    Here,
    Refused,
    Staff,
    Text,
    checked,
    client_of,
    page,
    redirect,
)
from tasks.people.accounts import account_of, limited, sign_in, sign_out

LOGIN_COOKIE = "hitos_ingreso"

router = APIRouter()


@router.get("/login")
def login_form(request: Request, here: Here) -> Response:
    if account_of(here.settings, request.cookies.get(SESSION_COOKIE, "")):
        return RedirectResponse("/", status_code=303)
    token = secrets.token_urlsafe(32)
    response = page(request, "login.html", None, csrf=token, error="")
    response.set_cookie(
        LOGIN_COOKIE, token, max_age=3600, secure=True, httponly=True, samesite="strict"
    )
    return response


@router.post("/login")
def login(
    request: Request,
    here: Here,
    email: Text = "",
    password: Text = "",
    csrf: Csrf = "",
) -> Response:
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, csrf):
        raise Refused(403, "csrf")
    client = client_of(request)
    if limited(here.settings, email, client):
        return page(request, "login.html", None, 429, csrf=csrf, error="limited", email=email)
    try:
        _, token = sign_in(here.settings, email, password, client)
    except PermissionError:
        return page(request, "login.html", None, 401, csrf=csrf, error="wrong", email=email)
    response = redirect("/")
    response.set_cookie(
        SESSION_COOKIE, token, max_age=12 * 3600, secure=True, httponly=True, samesite="lax"
    )
    response.delete_cookie(LOGIN_COOKIE)
    return response


@router.post("/salir")
def logout(request: Request, here: Here, account: Staff, csrf: Csrf = "") -> Response:
    checked(account, csrf)
    sign_out(here.settings, request.cookies.get(SESSION_COOKIE, ""))
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE)
    return response

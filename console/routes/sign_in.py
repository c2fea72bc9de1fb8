"""Signing in and out, and the sign-in audit log (the director)."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from console.site import (
    SESSION_COOKIE,
    Csrf,
    Director,
    Here,
    Refused,
    Staff,
    Text,
    checked,
    client_of,
    page,
    redirect,
)
from tasks.people.accounts import Throttled, account_of, sign_in, sign_out
from tasks.storage.ledger import session
from tasks.storage.queries import recent_sign_ins

LOGIN_COOKIE = "hitos_ingreso"
LOG_LENGTH = 500
"""Sign-ins the log page shows, newest first (the table keeps every one)."""

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
    try:
        account, token = sign_in(here.settings, email, password, client_of(request))
    except Throttled as exc:
        return page(
            request,
            "login.html",
            None,
            429,
            csrf=csrf,
            error="throttled",
            wait=exc.wait,
            email=email,
        )
    except PermissionError:
        return page(request, "login.html", None, 401, csrf=csrf, error="wrong", email=email)
    response = redirect("/mesa" if account.role == "cso" else "/")  # civil society: the Mesa
    response.set_cookie(
        SESSION_COOKIE, token, max_age=12 * 3600, secure=True, httponly=True, samesite="lax"
    )
    response.delete_cookie(LOGIN_COOKIE)
    return response


@router.post("/salir")
def logout(request: Request, here: Here, account: Staff, csrf: Csrf = "") -> Response:
    checked(account, csrf)
    sign_out(here.settings, request.cookies.get(SESSION_COOKIE, ""), client_of(request))
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/ingresos")
def sign_in_log(request: Request, here: Here, account: Director) -> Response:
    """The sign-in audit log: who signed in, failed, was refused or signed out, when, from where."""
    with session(here.settings.database) as db:
        events = recent_sign_ins(db, LOG_LENGTH)
    return page(request, "sign_ins.html", account, events=events, length=LOG_LENGTH)

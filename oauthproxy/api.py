"""The developer REST API under ``/api/`` on the container host.

The same actions as the dashboard, through the same functions of
``oauthproxy.developer``: claims and their verification, consumer
registrations (create, update, replace the secret, generate a key pair,
download the certificate, disable, delete) and usage statistics.

Every error answers ``{"error": {"code": "...", "message": "..."}}`` with
a stable code (``developer`` errors keep theirs; DRF's become
``not_authenticated``, ``not_found``, ``invalid_request``...). Objects of
other developers do not exist here (404). Secrets are write-only: they
are accepted by ``secret`` fields and never appear in an answer.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from gadgets.errors import GadgetError

from . import developer, usage
from .api_auth import HashedTokenAuthentication
from .developer import SecretInput
from .models import KEY_TYPES, RSA_PRIVATE, ConsumerRegistration, GadgetClaim

VIA = "api"


# --- Errors ------------------------------------------------------------------


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every failure in one envelope with a stable code."""
    if isinstance(exc, GadgetError):
        return Response(error_body(exc.code, exc.message), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = str(exc.auth_header)  # type: ignore[attr-defined]
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(exc.wait)  # type: ignore[attr-defined]
    if isinstance(exc, exceptions.ValidationError):
        body = error_body(
            "invalid_request", _first_problem(exc.detail), fields=exc.detail
        )
    else:
        body = error_body(exc.default_code, str(exc.detail))
    return Response(body, status=exc.status_code, headers=headers)


def _first_problem(detail: Any, prefix: str = "") -> str:
    if isinstance(detail, dict):
        for name, value in detail.items():
            label = "" if name == "non_field_errors" else f"{name}: "
            return _first_problem(value, prefix + label)
    if isinstance(detail, list) and detail:
        return _first_problem(detail[0], prefix)
    return f"{prefix}{detail}"


class IsDeveloper(BasePermission):
    message = developer.NotDeveloper.default_message
    code = developer.NotDeveloper.code

    def has_permission(self, request: Request, view: APIView) -> bool:
        return developer.is_developer(request.user)


class Pages(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class ApiViewSet(viewsets.GenericViewSet[Any]):
    """What every developer API view shares: auth, JSON, pages, errors."""

    authentication_classes = [HashedTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated, IsDeveloper]
    renderer_classes = [JSONRenderer]
    pagination_class = Pages

    def get_exception_handler(self) -> Any:
        return api_exception_handler


# --- Serializers -------------------------------------------------------------


class ClaimSerializer(serializers.ModelSerializer[GadgetClaim]):
    verified = serializers.BooleanField(source="is_verified", read_only=True)
    verification_link = serializers.SerializerMethodField()

    class Meta:
        model = GadgetClaim
        fields = [
            "id",
            "gadget_url",
            "verified",
            "verified_at",
            "verification_token",
            "verification_link",
            "created_at",
        ]
        read_only_fields = [
            "verified_at",
            "verification_token",
            "created_at",
        ]
        extra_kwargs: dict[str, Any] = {"gadget_url": {"validators": []}}

    def get_verification_link(self, claim: GadgetClaim) -> str:
        return (
            f'<Link rel="{developer.VERIFICATION_REL}" '
            f'href="{claim.verification_token}"/>'
        )


class SecretStatusSerializer(serializers.Serializer[Any]):
    set = serializers.BooleanField()
    fingerprint = serializers.CharField()
    set_at = serializers.DateTimeField(allow_null=True)


class RegistrationSerializer(serializers.ModelSerializer[ConsumerRegistration]):
    secret = serializers.SerializerMethodField()
    has_certificate = serializers.SerializerMethodField()

    class Meta:
        model = ConsumerRegistration
        fields = [
            "id",
            "gadget_url",
            "service_name",
            "consumer_key",
            "key_type",
            "callback_url",
            "enabled",
            "secret",
            "has_certificate",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema(responses=SecretStatusSerializer)
    def get_secret(self, registration: ConsumerRegistration) -> dict[str, Any]:
        return {
            "set": bool(registration.secret_encrypted),
            "fingerprint": registration.secret_fingerprint,
            "set_at": registration.secret_set_at,
        }

    def get_has_certificate(self, registration: ConsumerRegistration) -> bool:
        return bool(registration.certificate_pem) and (
            registration.key_type == RSA_PRIVATE
        )


class SecretInputSerializer(serializers.Serializer[Any]):
    key_type = serializers.ChoiceField(choices=KEY_TYPES, required=False)
    secret = serializers.CharField(
        write_only=True,
        required=False,
        trim_whitespace=False,
        style={"input_type": "password"},
        help_text="Shared secret or PEM private key; never returned.",
    )
    generate_key_pair = serializers.BooleanField(default=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("generate_key_pair"):
            return attrs
        if "key_type" not in attrs:
            raise serializers.ValidationError({"key_type": "This field is required."})
        if not attrs.get("secret", "").strip():
            raise serializers.ValidationError(
                {"secret": "Give the secret, or set generate_key_pair."}
            )
        return attrs

    def secret_input(self) -> SecretInput:
        data = self.validated_data
        if data.get("generate_key_pair"):
            return SecretInput(key_type=RSA_PRIVATE, generate=True)
        return SecretInput(key_type=data["key_type"], value=data["secret"])


class RegistrationCreateSerializer(SecretInputSerializer):
    gadget_url = serializers.CharField(max_length=2000)
    service_name = serializers.CharField(max_length=200, allow_blank=True)
    consumer_key = serializers.CharField(max_length=500)
    callback_url = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, default=""
    )


class RegistrationUpdateSerializer(serializers.Serializer[Any]):
    consumer_key = serializers.CharField(max_length=500, required=False)
    callback_url = serializers.CharField(
        max_length=2000, required=False, allow_blank=True
    )
    enabled = serializers.BooleanField(required=False)


class DayCountsSerializer(serializers.Serializer[Any]):
    day = serializers.DateField()
    created = serializers.IntegerField()
    refreshed = serializers.IntegerField()
    revoked = serializers.IntegerField()
    # "errors" would shadow Serializer.errors.
    failed = serializers.IntegerField(source="errors")


class TraceSerializer(serializers.Serializer[Any]):
    created_at = serializers.DateTimeField()
    service_name = serializers.CharField()
    oauth_error = serializers.CharField()
    summary = serializers.CharField()
    trace = serializers.CharField()


class UsageSerializer(serializers.Serializer[Any]):
    gadget_url = serializers.CharField()
    service_name = serializers.CharField(allow_null=True)
    connected = serializers.IntegerField()
    totals = serializers.DictField(child=serializers.IntegerField())
    days = DayCountsSerializer(many=True)
    recent_traces = TraceSerializer(many=True)


def usage_data(result: usage.Usage) -> dict[str, Any]:
    return UsageSerializer(
        {
            "gadget_url": result.gadget_url,
            "service_name": result.service_name,
            "connected": result.connected,
            "totals": result.totals(),
            "days": result.days,
            "recent_traces": result.recent_traces,
        }
    ).data


def _days(request: Request) -> int:
    raw = request.query_params.get("days", str(usage.DEFAULT_DAYS))
    if not raw.isdigit() or not 1 <= int(raw) <= 90:
        raise developer.InvalidField("days must be a whole number from 1 to 90.")
    return int(raw)


_ERRORS = {
    400: OpenApiResponse(description="invalid_request or a developer error code"),
    404: OpenApiResponse(description="not_found"),
}


# --- Claims ------------------------------------------------------------------


class ClaimViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    ApiViewSet,
):
    """Gadget URLs you claim, and the proof that you control them."""

    serializer_class = ClaimSerializer

    def get_queryset(self) -> QuerySet[GadgetClaim]:
        return developer.claims_of(self.request.user)

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = developer.claim_gadget(
            self.request.user, serializer.validated_data["gadget_url"], via=VIA
        )

    def perform_destroy(self, instance: GadgetClaim) -> None:
        developer.delete_claim(self.request.user, instance, via=VIA)

    @extend_schema(request=None, responses={200: ClaimSerializer, **_ERRORS})
    @action(detail=True, methods=["post"])
    def verify(self, request: Request, pk: str | None = None) -> Response:
        """Fetch the spec now and verify the claim if it carries the token."""
        claim = developer.verify_claim(request.user, self.get_object(), via=VIA)
        return Response(ClaimSerializer(claim).data)

    @extend_schema(responses=UsageSerializer)
    @action(detail=True, methods=["get"])
    def stats(self, request: Request, pk: str | None = None) -> Response:
        """Usage of every service of the gadget (verified claims only)."""
        claim = self.get_object()
        if not claim.is_verified:
            raise developer.ClaimNotVerified()
        return Response(usage_data(usage.usage(claim.gadget_url, days=_days(request))))


# --- Registrations -----------------------------------------------------------


class RegistrationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    ApiViewSet,
):
    """Consumer keys of your verified gadgets; secrets are write-only."""

    serializer_class = RegistrationSerializer

    def get_queryset(self) -> QuerySet[ConsumerRegistration]:
        return developer.registrations_of(self.request.user)

    def _answer(self, registration: ConsumerRegistration, code: int = 200) -> Response:
        return Response(RegistrationSerializer(registration).data, status=code)

    @extend_schema(
        request=RegistrationCreateSerializer,
        responses={201: RegistrationSerializer, **_ERRORS},
    )
    def create(self, request: Request) -> Response:
        given = RegistrationCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        registration = developer.register_service(
            request.user,
            data["gadget_url"],
            service_name=data["service_name"],
            consumer_key=data["consumer_key"],
            callback_url=data["callback_url"],
            secret=given.secret_input(),
            via=VIA,
        )
        return self._answer(registration, status.HTTP_201_CREATED)

    @extend_schema(
        request=RegistrationUpdateSerializer,
        responses={200: RegistrationSerializer, **_ERRORS},
    )
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        """Change consumer_key, callback_url or enabled; the secret stays."""
        registration = self.get_object()
        given = RegistrationUpdateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        unknown = set(request.data) - set(given.fields)
        if unknown:
            raise developer.InvalidField(
                f"These fields cannot be changed here: {', '.join(sorted(unknown))}. "
                "Use rotate_secret or generate_key to replace the secret."
            )
        developer.update_registration(
            request.user, registration, dict(given.validated_data), via=VIA
        )
        return self._answer(registration)

    def perform_destroy(self, instance: ConsumerRegistration) -> None:
        developer.delete_registration(self.request.user, instance, via=VIA)

    @extend_schema(
        request=SecretInputSerializer,
        responses={200: RegistrationSerializer, **_ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        """Replace the secret or private key; the old one is gone."""
        registration = self.get_object()
        given = SecretInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        developer.replace_secret(
            request.user, registration, given.secret_input(), via=VIA
        )
        return self._answer(registration)

    @extend_schema(request=None, responses={200: RegistrationSerializer, **_ERRORS})
    @action(detail=True, methods=["post"], url_path="generate-key")
    def generate_key(self, request: Request, pk: str | None = None) -> Response:
        """Generate a 2048-bit RSA key pair; fetch the certificate next."""
        registration = self.get_object()
        developer.replace_secret(
            request.user,
            registration,
            SecretInput(key_type=RSA_PRIVATE, generate=True),
            via=VIA,
        )
        return self._answer(registration)

    @extend_schema(
        responses={
            (200, "application/x-pem-file"): OpenApiResponse(
                description="The X.509 certificate (PEM)"
            ),
            404: OpenApiResponse(description="not_found or no_certificate"),
        }
    )
    @action(detail=True, methods=["get"])
    def certificate(self, request: Request, pk: str | None = None) -> HttpResponse:
        """The X.509 certificate to give the service provider."""
        registration = self.get_object()
        pem = developer.certificate(request.user, registration)
        response = HttpResponse(pem, content_type="application/x-pem-file")
        response["Content-Disposition"] = (
            f'attachment; filename="consumer-{registration.pk}.crt"'
        )
        return response

    @extend_schema(request=None, responses={200: RegistrationSerializer, **_ERRORS})
    @action(detail=True, methods=["post"])
    def disable(self, request: Request, pk: str | None = None) -> Response:
        """Stop using this registration at once (makeRequest refuses it)."""
        registration = self.get_object()
        developer.set_enabled(request.user, registration, False, via=VIA)
        return self._answer(registration)

    @extend_schema(request=None, responses={200: RegistrationSerializer, **_ERRORS})
    @action(detail=True, methods=["post"])
    def enable(self, request: Request, pk: str | None = None) -> Response:
        registration = self.get_object()
        developer.set_enabled(request.user, registration, True, via=VIA)
        return self._answer(registration)

    @extend_schema(responses=UsageSerializer)
    @action(detail=True, methods=["get"])
    def stats(self, request: Request, pk: str | None = None) -> Response:
        registration = self.get_object()
        result = usage.usage(
            registration.gadget_url, registration.service_name, days=_days(request)
        )
        return Response(usage_data(result))


class AuditEventSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    actor = serializers.CharField()
    gadget_url = serializers.CharField()
    service_name = serializers.CharField()
    details = serializers.DictField()
    created_at = serializers.DateTimeField()


class AuditViewSet(mixins.ListModelMixin, ApiViewSet):
    """Changes to your gadgets and registrations, newest first."""

    serializer_class = AuditEventSerializer

    def get_queryset(self) -> QuerySet[Any]:
        return developer.audit_log(self.request.user)

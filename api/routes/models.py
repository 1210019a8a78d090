"""``/v1/models``: what this deployment serves and each model's limits."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.deps import ApiKeyDep, RegistryDep, SettingsDep, UnitOfWorkRoute
from api.parameters import storable_parameters
from api.schemas import ErrorResponse, ModelList, ModelObject
from model import ModelSpec
from videogen.errors import NotFoundError

router = APIRouter(
    route_class=UnitOfWorkRoute,
    prefix="/v1/models",
    tags=["models"],
    dependencies=[Depends(storable_parameters)],
    responses={code: {"model": ErrorResponse} for code in (400, 401, 403, 404)},
)


def _model_object(spec: ModelSpec) -> ModelObject:
    info = spec.public_info()
    return ModelObject.model_validate(info)


@router.get("", response_model=ModelList, summary="List the models served here")
def list_models(settings: SettingsDep, registry: RegistryDep, _: ApiKeyDep) -> ModelList:
    return ModelList(data=[_model_object(registry.get(name)) for name in settings.models if name in registry])


@router.get("/{model_id}", response_model=ModelObject, summary="Retrieve a model")
def retrieve_model(model_id: str, settings: SettingsDep, registry: RegistryDep, _: ApiKeyDep) -> ModelObject:
    if model_id not in settings.models or model_id not in registry:
        raise NotFoundError(f"The model '{model_id}' does not exist or is not served here.", param="model")
    return _model_object(registry.get(model_id))

// Umbrella header of ocean-cpp.
#pragma once

#include <ocean/config.hpp>
#include <ocean/error.hpp>
#include <ocean/http/client.hpp>
#include <ocean/http/request.hpp>
#include <ocean/http/response.hpp>
#include <ocean/http/router.hpp>
#include <ocean/http/server.hpp>
#include <ocean/integration.hpp>
#include <ocean/mapping/entity_processor.hpp>
#include <ocean/mapping/port_app_config.hpp>
#include <ocean/port/client.hpp>
#include <ocean/port/entity.hpp>
#include <ocean/retry.hpp>

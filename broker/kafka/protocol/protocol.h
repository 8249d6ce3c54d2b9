// The Kafka wire protocol in one include: encodings, generated messages, error codes, one-call
// codecs and printing. See broker/kafka/protocol/README.md.
#pragma once

#include "broker/kafka/protocol/codec.h"
#include "broker/kafka/protocol/error_codes.h"
#include "broker/kafka/protocol/messages.h"
#include "broker/kafka/protocol/print.h"
#include "broker/kafka/protocol/wire.h"

/**
 * @file mqtt.h
 * @brief MQTT 3.1.1 codec of the portable core: encoders and a sans-I/O decoder for every
 *        packet type, in both directions (client and server side).
 *
 * The codec knows nothing about connections, sockets or time: it turns packet structs into
 * bytes (into caller buffers) and bytes into packet structs (whose strings and payloads are
 * spans into caller memory). Connection state (packet ids in flight, keepalive, session) lives
 * above it.
 *
 * Errors. Functions return 0 (or a non-negative value) on success and a negative errno value on
 * failure. Decoding reports, next to the errno value, a precise #azk_mqtt_reason:
 *
 * | errno        | meaning                                                             |
 * |--------------|---------------------------------------------------------------------|
 * | `-EBADMSG`   | malformed packet (bad encoding, reserved bits, lengths, UTF-8, ...) |
 * | `-EPROTO`    | well-formed but not allowed by the protocol or for this role        |
 * | `-EMSGSIZE`  | packet larger than the configured maximum (or the buffer)           |
 * | `-EAGAIN`    | one-shot decode only: the data does not hold a whole packet yet     |
 * | `-ENOBUFS`   | encoders: buffer too small; `*out_len` is the size needed           |
 * | `-EINVAL`    | bad arguments (NULL pointers, fields an encoder cannot encode)      |
 *
 * azk_mqtt_reason_errno() gives the errno value that goes with each reason.
 *
 * Encoders write only valid packets: they check string lengths (at most 65535 bytes), UTF-8
 * (no U+0000, no surrogates, no overlongs), QoS values, packet ids (non-zero where required),
 * non-empty topics and filters, and the 268435455-byte remaining-length limit. They do NOT
 * check the placement of the wildcards '+' and '#' (Azure device ids may contain them; use
 * azk_mqtt_topic_check() / azk_mqtt_filter_check() where the caller wants that). When the
 * buffer is too small, nothing is written, `*out_len` is set to the size needed and
 * `-ENOBUFS` is returned; `buf` may be NULL when `buf_size` is 0 (a size query).
 */
#ifndef AZKIT_MQTT_H
#define AZKIT_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "azkit/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Largest remaining length MQTT 3.1.1 can encode (4-byte variable length integer). */
#define AZK_MQTT_MAX_REMAINING_LENGTH 268435455u
/** Largest possible MQTT 3.1.1 packet: 1 type byte + 4 length bytes + the remaining length. */
#define AZK_MQTT_MAX_PACKET_SIZE (AZK_MQTT_MAX_REMAINING_LENGTH + 5u)
/** Largest string or binary field (2-byte length prefix). */
#define AZK_MQTT_MAX_STRING_LENGTH 65535u

/** Control packet types (the high nibble of the first byte). */
enum azk_mqtt_type {
    AZK_MQTT_CONNECT = 1,
    AZK_MQTT_CONNACK = 2,
    AZK_MQTT_PUBLISH = 3,
    AZK_MQTT_PUBACK = 4,
    AZK_MQTT_PUBREC = 5,
    AZK_MQTT_PUBREL = 6,
    AZK_MQTT_PUBCOMP = 7,
    AZK_MQTT_SUBSCRIBE = 8,
    AZK_MQTT_SUBACK = 9,
    AZK_MQTT_UNSUBSCRIBE = 10,
    AZK_MQTT_UNSUBACK = 11,
    AZK_MQTT_PINGREQ = 12,
    AZK_MQTT_PINGRESP = 13,
    AZK_MQTT_DISCONNECT = 14
};

/** CONNACK return codes (MQTT 3.1.1 table 3.1). */
enum azk_mqtt_connack_code {
    AZK_MQTT_CONNACK_ACCEPTED = 0,
    AZK_MQTT_CONNACK_UNACCEPTABLE_PROTOCOL = 1, /**< unacceptable protocol version */
    AZK_MQTT_CONNACK_IDENTIFIER_REJECTED = 2,
    AZK_MQTT_CONNACK_SERVER_UNAVAILABLE = 3,
    AZK_MQTT_CONNACK_BAD_USERNAME_OR_PASSWORD = 4,
    AZK_MQTT_CONNACK_NOT_AUTHORIZED = 5
};

/** SUBACK return code for a refused subscription (the others are the granted QoS 0, 1, 2). */
#define AZK_MQTT_SUBACK_FAILURE 0x80u

/** Which side decodes: selects the packet types that are valid to receive. */
enum azk_mqtt_role {
    /** Decodes server→client packets: CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP,
     *  SUBACK, UNSUBACK, PINGRESP. */
    AZK_MQTT_ROLE_CLIENT = 0,
    /** Decodes client→server packets: CONNECT, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP,
     *  SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT. */
    AZK_MQTT_ROLE_SERVER = 1
};

/**
 * Why a packet was refused. Every reason has its own text (azk_mqtt_reason_str()) and errno
 * value (azk_mqtt_reason_errno(), given in brackets below).
 */
enum azk_mqtt_reason {
    AZK_MQTT_R_OK = 0,                  /**< no error [0] */
    AZK_MQTT_R_INCOMPLETE,              /**< data ends before the packet does [-EAGAIN] */
    AZK_MQTT_R_RESERVED_TYPE,           /**< packet type 0 or 15 [-EBADMSG] */
    AZK_MQTT_R_UNEXPECTED_TYPE,         /**< packet type not valid for the role [-EPROTO] */
    AZK_MQTT_R_BAD_FLAGS,               /**< reserved fixed-header flag bits wrong [-EBADMSG] */
    AZK_MQTT_R_REMAINING_LENGTH_TOO_LONG, /**< remaining length over 4 bytes [-EBADMSG] */
    AZK_MQTT_R_PACKET_TOO_LARGE,        /**< over the configured maximum size [-EMSGSIZE] */
    AZK_MQTT_R_TRUNCATED,               /**< a field runs past the end of the packet [-EBADMSG] */
    AZK_MQTT_R_BAD_LENGTH,              /**< remaining length does not match the contents
                                             (wrong size, trailing bytes) [-EBADMSG] */
    AZK_MQTT_R_QOS_INVALID,             /**< QoS 3 (PUBLISH, will, SUBSCRIBE) [-EBADMSG] */
    AZK_MQTT_R_DUP_QOS0,                /**< PUBLISH QoS 0 with DUP set [-EPROTO] */
    AZK_MQTT_R_PACKET_ID_ZERO,          /**< packet identifier 0 where one is required
                                             [-EPROTO] */
    AZK_MQTT_R_TOPIC_EMPTY,             /**< zero-length topic name [-EPROTO] */
    AZK_MQTT_R_TOPIC_WILDCARD,          /**< '+' or '#' in a topic name [-EPROTO] */
    AZK_MQTT_R_UTF8_INVALID,            /**< ill-formed UTF-8: overlong, surrogate, above
                                             U+10FFFF, bad sequence [-EBADMSG] */
    AZK_MQTT_R_UTF8_NUL,                /**< U+0000 in a string [-EBADMSG] */
    AZK_MQTT_R_PROTOCOL_NAME,           /**< CONNECT protocol name is not "MQTT" [-EPROTO] */
    AZK_MQTT_R_PROTOCOL_LEVEL,          /**< CONNECT protocol level is not 4 (also "MQIsdp"
                                             level 3, MQTT 3.1): a server answers CONNACK 1
                                             [-EPROTO] */
    AZK_MQTT_R_CONNECT_RESERVED_FLAG,   /**< CONNECT flags bit 0 set [-EBADMSG] */
    AZK_MQTT_R_WILL_FLAGS,              /**< will QoS or will retain without the will flag
                                             [-EBADMSG] */
    AZK_MQTT_R_PASSWORD_WITHOUT_USERNAME, /**< password flag without username flag
                                               [-EPROTO] */
    AZK_MQTT_R_CLIENT_ID_EMPTY,         /**< zero-length client id with clean session 0:
                                             a server answers CONNACK 2 [-EPROTO] */
    AZK_MQTT_R_NO_FILTERS,              /**< SUBSCRIBE/UNSUBSCRIBE without topic filters, or
                                             SUBACK without return codes [-EPROTO] */
    AZK_MQTT_R_FILTER_EMPTY,            /**< zero-length topic filter [-EPROTO] */
    AZK_MQTT_R_FILTER_INVALID,          /**< '#' not last or '+' not a whole level [-EPROTO] */
    AZK_MQTT_R_SUBSCRIBE_OPTIONS,       /**< reserved bits 7-2 of a requested-QoS byte set
                                             [-EBADMSG] */
    AZK_MQTT_R_SUBACK_CODE,             /**< SUBACK return code not 0, 1, 2 or 0x80
                                             [-EBADMSG] */
    AZK_MQTT_R_CONNACK_FLAGS,           /**< reserved bits 7-1 of the CONNACK flags set
                                             [-EBADMSG] */
    AZK_MQTT_R_CONNACK_CODE,            /**< CONNACK return code above 5 [-EBADMSG] */
    AZK_MQTT_R_CONNACK_SESSION_PRESENT, /**< session present with a non-zero return code
                                             [-EPROTO] */
    AZK_MQTT_R_COUNT_                   /**< number of reasons (not a reason) */
};

/**
 * @brief Text for a reason, e.g. "PUBLISH topic contains a wildcard ('+' or '#')".
 * @param reason Any value; out-of-range values give "unknown MQTT reason".
 * @return A static NUL-terminated string, never NULL.
 */
AZK_API const char *azk_mqtt_reason_str(enum azk_mqtt_reason reason);

/**
 * @brief The negative errno value that goes with a reason (see the table above).
 * @param reason Any value; AZK_MQTT_R_OK gives 0, out-of-range values give -EINVAL.
 * @return 0 or a negative errno value.
 */
AZK_API int azk_mqtt_reason_errno(enum azk_mqtt_reason reason);

/**
 * @brief Name of a packet type, e.g. "PUBLISH".
 * @param type Any value; values outside 1..14 give "RESERVED".
 * @return A static NUL-terminated string, never NULL.
 */
AZK_API const char *azk_mqtt_type_str(enum azk_mqtt_type type);

/* ---------------------------------------------------------------------------------------- */
/* Packet contents (encoder input and decoder output)                                       */
/* ---------------------------------------------------------------------------------------- */

/** CONNECT. Spans need not be NUL-terminated; decoded spans point into the packet bytes. */
struct azk_mqtt_connect {
    struct azk_span client_id;   /**< UTF-8; may be empty only with clean_session */
    uint16_t keep_alive;         /**< seconds; 0 disables keepalive */
    bool clean_session;
    bool will;                   /**< a will message is present */
    uint8_t will_qos;            /**< 0..2; encoded only with `will` (decoded 0 without) */
    bool will_retain;            /**< encoded only with `will` */
    struct azk_span will_topic;  /**< UTF-8 topic name, non-empty (with `will`) */
    struct azk_span will_payload; /**< binary, at most 65535 bytes (with `will`) */
    bool has_username;
    struct azk_span username;    /**< UTF-8 (with `has_username`; may be empty) */
    bool has_password;           /**< requires `has_username` */
    struct azk_span password;    /**< binary, at most 65535 bytes (with `has_password`) */
};

/** CONNACK. */
struct azk_mqtt_connack {
    bool session_present;        /**< must be false unless return_code is 0 */
    uint8_t return_code;         /**< enum azk_mqtt_connack_code, 0..5 */
};

/** PUBLISH. */
struct azk_mqtt_publish {
    struct azk_span topic;       /**< UTF-8 topic name, non-empty */
    struct azk_span payload;     /**< application message, any bytes (may be empty) */
    uint16_t packet_id;          /**< required (non-zero) with QoS 1 and 2; 0 for QoS 0 */
    uint8_t qos;                 /**< 0, 1 or 2 (the codec encodes and decodes QoS 2; a
                                      QoS 0/1 client or server answers it as it sees fit) */
    bool dup;                    /**< redelivery; only with QoS 1 or 2 */
    bool retain;
};

/** One SUBSCRIBE entry. */
struct azk_mqtt_subscription {
    struct azk_span filter;      /**< UTF-8 topic filter, non-empty */
    uint8_t qos;                 /**< requested QoS 0..2 */
};

/** A decoded list: SUBSCRIBE filters, UNSUBSCRIBE filters or SUBACK return codes. Walk it
 *  with struct azk_mqtt_iter. */
struct azk_mqtt_list {
    uint16_t packet_id;
    size_t count;                /**< number of entries, at least 1 */
    struct azk_span entries;     /**< the validated payload bytes of the list */
};

/** A decoded packet. Spans point into the bytes that were decoded (the decoder's buffer for
 *  azk_mqtt_decoder_feed(): valid until the next feed, reset or re-init). */
struct azk_mqtt_packet {
    enum azk_mqtt_type type;
    uint8_t flags;               /**< the low nibble of the first byte, as received */
    size_t remaining_length;
    union {
        struct azk_mqtt_connect connect;     /**< CONNECT */
        struct azk_mqtt_connack connack;     /**< CONNACK */
        struct azk_mqtt_publish publish;     /**< PUBLISH */
        uint16_t packet_id;                  /**< PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK */
        struct azk_mqtt_list subscribe;      /**< SUBSCRIBE */
        struct azk_mqtt_list suback;         /**< SUBACK */
        struct azk_mqtt_list unsubscribe;    /**< UNSUBSCRIBE */
    } u;                         /**< nothing for PINGREQ, PINGRESP, DISCONNECT */
};

/* ---------------------------------------------------------------------------------------- */
/* Encoders                                                                                 */
/* ---------------------------------------------------------------------------------------- */
/* Common to all encoders:
 *   buf, buf_size  the caller's output buffer (buf may be NULL when buf_size is 0)
 *   out_len        set to the packet length written, or to the size needed on -ENOBUFS
 * Return 0 on success, -ENOBUFS when buf_size is too small (nothing written), -EINVAL when
 * out_len is NULL, buf is NULL with buf_size > 0, or a field cannot be encoded (listed per
 * function). */

/**
 * @brief Encodes CONNECT (protocol "MQTT", level 4).
 * @param c The fields. -EINVAL when: c is NULL; a string is over 65535 bytes or not valid
 *          UTF-8 (client id, will topic, username); the client id is empty without
 *          clean_session; will with will_qos > 2 or an empty will topic; has_password without
 *          has_username; will payload or password over 65535 bytes.
 */
AZK_API int azk_mqtt_encode_connect(const struct azk_mqtt_connect *c, void *buf,
                                    size_t buf_size, size_t *out_len);

/**
 * @brief Encodes CONNACK (4 bytes).
 * @param c The fields. -EINVAL when c is NULL, return_code > 5, or session_present with a
 *          non-zero return code.
 */
AZK_API int azk_mqtt_encode_connack(const struct azk_mqtt_connack *c, void *buf,
                                    size_t buf_size, size_t *out_len);

/**
 * @brief Encodes PUBLISH with its payload.
 * @param p The fields. -EINVAL when: p is NULL; the topic is empty, over 65535 bytes or not
 *          valid UTF-8 (wildcards are not checked); qos > 2; qos > 0 with packet_id 0; dup
 *          with qos 0; the packet would exceed AZK_MQTT_MAX_REMAINING_LENGTH; payload.ptr is
 *          NULL with payload.len > 0.
 */
AZK_API int azk_mqtt_encode_publish(const struct azk_mqtt_publish *p, void *buf,
                                    size_t buf_size, size_t *out_len);

/**
 * @brief Encodes everything of a PUBLISH except the payload bytes (fixed header with a
 *        remaining length that counts p->payload.len, topic, packet id), so a large payload
 *        can be sent from where it is. The payload must follow on the wire.
 * @param p As for azk_mqtt_encode_publish(); payload.ptr is not read and may be NULL.
 */
AZK_API int azk_mqtt_encode_publish_header(const struct azk_mqtt_publish *p, void *buf,
                                           size_t buf_size, size_t *out_len);

/**
 * @brief Encodes a packet that is just a packet identifier (4 bytes): PUBACK, PUBREC,
 *        PUBREL (flags 0x2), PUBCOMP or UNSUBACK.
 * @param type One of those five types; anything else is -EINVAL.
 * @param packet_id Non-zero (0 is -EINVAL).
 */
AZK_API int azk_mqtt_encode_ack(enum azk_mqtt_type type, uint16_t packet_id, void *buf,
                                size_t buf_size, size_t *out_len);

/**
 * @brief Encodes SUBSCRIBE (flags 0x2).
 * @param packet_id Non-zero.
 * @param subs Array of @p count entries; each filter non-empty, at most 65535 bytes, valid
 *             UTF-8 (wildcard placement is not checked), qos 0..2.
 * @param count At least 1.
 * @return As above; -EINVAL for any violation of the parameter rules.
 */
AZK_API int azk_mqtt_encode_subscribe(uint16_t packet_id,
                                      const struct azk_mqtt_subscription *subs, size_t count,
                                      void *buf, size_t buf_size, size_t *out_len);

/**
 * @brief Encodes SUBACK.
 * @param packet_id Non-zero.
 * @param codes Array of @p count return codes, each 0, 1, 2 or AZK_MQTT_SUBACK_FAILURE.
 * @param count At least 1.
 * @return As above; -EINVAL for any violation of the parameter rules.
 */
AZK_API int azk_mqtt_encode_suback(uint16_t packet_id, const uint8_t *codes, size_t count,
                                   void *buf, size_t buf_size, size_t *out_len);

/**
 * @brief Encodes UNSUBSCRIBE (flags 0x2).
 * @param packet_id Non-zero.
 * @param filters Array of @p count filters; each non-empty, at most 65535 bytes, valid UTF-8.
 * @param count At least 1.
 * @return As above; -EINVAL for any violation of the parameter rules.
 */
AZK_API int azk_mqtt_encode_unsubscribe(uint16_t packet_id, const struct azk_span *filters,
                                        size_t count, void *buf, size_t buf_size,
                                        size_t *out_len);

/** @brief Encodes PINGREQ (C0 00). Returns as above. */
AZK_API int azk_mqtt_encode_pingreq(void *buf, size_t buf_size, size_t *out_len);
/** @brief Encodes PINGRESP (D0 00). Returns as above. */
AZK_API int azk_mqtt_encode_pingresp(void *buf, size_t buf_size, size_t *out_len);
/** @brief Encodes DISCONNECT (E0 00). Returns as above. */
AZK_API int azk_mqtt_encode_disconnect(void *buf, size_t buf_size, size_t *out_len);

/* ---------------------------------------------------------------------------------------- */
/* Decoding                                                                                 */
/* ---------------------------------------------------------------------------------------- */

/** Decoder settings (zero-initialise, then set what you need). */
struct azk_mqtt_decoder_config {
    /** Which packets are valid to receive. */
    enum azk_mqtt_role role;
    /** Largest whole packet accepted (fixed header included); 0 = no limit of its own (the
     *  incremental decoder is always limited by its buffer). Larger packets: -EMSGSIZE,
     *  AZK_MQTT_R_PACKET_TOO_LARGE, detected as soon as the remaining length is known. */
    size_t max_packet_size;
    /** Accept '+' and '#' in PUBLISH (and will) topic names and report the topic as-is; the
     *  caller validates it (the Azure hub accepts them only inside the device-id segment).
     *  Default false: AZK_MQTT_R_TOPIC_WILDCARD. */
    bool allow_wildcards_in_publish_topic;
    /** Do not check where '+' and '#' stand in SUBSCRIBE/UNSUBSCRIBE filters (Azure device
     *  ids may contain them); the caller validates. Default false: AZK_MQTT_R_FILTER_INVALID
     *  when '#' is not the last level or '+' is not a whole level. */
    bool allow_any_wildcards_in_filters;
};

/**
 * @brief Checks the first byte of a packet (type and reserved flag bits) for a role.
 * @param role Which side receives the packet.
 * @param first_byte The packet's first byte.
 * @param reason Optional (may be NULL): receives the reason.
 * @return 0 if acceptable; -EBADMSG (AZK_MQTT_R_RESERVED_TYPE, AZK_MQTT_R_BAD_FLAGS,
 *         AZK_MQTT_R_QOS_INVALID for PUBLISH QoS 3) or -EPROTO (AZK_MQTT_R_UNEXPECTED_TYPE,
 *         AZK_MQTT_R_DUP_QOS0).
 */
AZK_API int azk_mqtt_header_check(enum azk_mqtt_role role, uint8_t first_byte,
                                  enum azk_mqtt_reason *reason);

/**
 * @brief One-shot decode of the packet at the start of @p data (which may hold more bytes
 *        after it, e.g. the next packet).
 * @param cfg Settings (role, limits, wildcard options); must not be NULL.
 * @param data The bytes; spans in @p pkt point into them.
 * @param len Number of bytes at @p data.
 * @param pkt Receives the packet (contents unspecified on error).
 * @param packet_len Optional (may be NULL): receives the length of the packet decoded; with
 *                   -EAGAIN, the whole packet's length if the fixed header is complete
 *                   (else 0).
 * @param reason Optional (may be NULL): receives the precise reason (AZK_MQTT_R_OK on
 *               success).
 * @return 0 on success; -EAGAIN (AZK_MQTT_R_INCOMPLETE) when @p data ends before the packet;
 *         -EBADMSG, -EPROTO or -EMSGSIZE with the reason; -EINVAL for bad arguments.
 */
AZK_API int azk_mqtt_decode(const struct azk_mqtt_decoder_config *cfg, const void *data,
                            size_t len, struct azk_mqtt_packet *pkt, size_t *packet_len,
                            enum azk_mqtt_reason *reason);

/** azk_mqtt_decoder_feed(): more bytes are needed (all of them were consumed). */
#define AZK_MQTT_NEED_MORE 0
/** azk_mqtt_decoder_feed(): a whole packet was decoded. */
#define AZK_MQTT_PACKET 1

/** Incremental decoder state. Members are internal: use the functions below. */
struct azk_mqtt_decoder {
    struct {
        struct azk_mqtt_decoder_config cfg;
        uint8_t *buf;
        size_t limit;  /* min(buffer size, max packet size) */
        size_t have;   /* bytes of the current packet in buf */
        size_t total;  /* length of the current packet once its header is complete, else 0 */
        int err;       /* sticky error */
        bool done;     /* the last feed completed a packet */
        enum azk_mqtt_reason reason;
    } _internal;
};

/**
 * @brief Prepares a decoder.
 * @param d The decoder.
 * @param cfg Settings; copied.
 * @param buf The caller's packet buffer: holds one whole packet (fixed header included) at a
 *            time; decoded spans point into it.
 * @param buf_size Its size; packets larger than min(buf_size, cfg->max_packet_size) are
 *                 refused with -EMSGSIZE.
 * @return 0; -EINVAL when d, cfg or buf is NULL, the role is unknown, or the effective limit
 *         is below 2 bytes (the smallest packet).
 */
AZK_API int azk_mqtt_decoder_init(struct azk_mqtt_decoder *d,
                                  const struct azk_mqtt_decoder_config *cfg, void *buf,
                                  size_t buf_size);

/**
 * @brief Forgets any partial packet and a previous error (e.g. for a new connection).
 * @param d An initialised decoder.
 */
AZK_API void azk_mqtt_decoder_reset(struct azk_mqtt_decoder *d);

/**
 * @brief Feeds received bytes; stops after the first complete packet.
 *
 * Any split of the stream works, one byte at a time included. After AZK_MQTT_PACKET, feed the
 * unconsumed rest (data + *consumed) again to get the next packet. After an error the decoder
 * returns the same error until azk_mqtt_decoder_reset() (the connection should be closed).
 *
 * @param d An initialised decoder.
 * @param data Received bytes (may be NULL when len is 0).
 * @param len Their number.
 * @param consumed Receives how many bytes of @p data were used (on errors: up to and
 *                 including the byte that revealed the error).
 * @param pkt Receives the packet with AZK_MQTT_PACKET; its spans point into the decoder's
 *            buffer and are valid until the next feed, reset or init.
 * @return AZK_MQTT_PACKET (1), AZK_MQTT_NEED_MORE (0), or a negative errno value (-EBADMSG,
 *         -EPROTO, -EMSGSIZE; azk_mqtt_decoder_reason() says why); -EINVAL for bad arguments.
 */
AZK_API int azk_mqtt_decoder_feed(struct azk_mqtt_decoder *d, const void *data, size_t len,
                                  size_t *consumed, struct azk_mqtt_packet *pkt);

/**
 * @brief The reason of the decoder's last error.
 * @param d An initialised decoder.
 * @return The reason, or AZK_MQTT_R_OK when there was no error.
 */
AZK_API enum azk_mqtt_reason azk_mqtt_decoder_reason(const struct azk_mqtt_decoder *d);

/** Zero-allocation walk over the entries of a decoded SUBSCRIBE, UNSUBSCRIBE or SUBACK. */
struct azk_mqtt_iter {
    struct azk_span _rest;
    enum azk_mqtt_type _type;
};

/**
 * @brief Starts a walk over the list of @p pkt (SUBSCRIBE, UNSUBSCRIBE or SUBACK; other
 *        types give an empty walk).
 * @param it The iterator.
 * @param pkt A decoded packet; its spans must stay valid during the walk.
 */
AZK_API void azk_mqtt_iter_init(struct azk_mqtt_iter *it, const struct azk_mqtt_packet *pkt);

/**
 * @brief Next SUBSCRIBE entry.
 * @param it An iterator over a SUBSCRIBE.
 * @param out Receives the filter (a span into the packet) and the requested QoS.
 * @return true with an entry; false at the end (or when the iterator is not over a
 *         SUBSCRIBE).
 */
AZK_API bool azk_mqtt_iter_next_subscription(struct azk_mqtt_iter *it,
                                             struct azk_mqtt_subscription *out);

/**
 * @brief Next UNSUBSCRIBE filter.
 * @param it An iterator over an UNSUBSCRIBE.
 * @param filter Receives the filter (a span into the packet).
 * @return true with an entry; false at the end (or when not over an UNSUBSCRIBE).
 */
AZK_API bool azk_mqtt_iter_next_filter(struct azk_mqtt_iter *it, struct azk_span *filter);

/**
 * @brief Next SUBACK return code.
 * @param it An iterator over a SUBACK.
 * @param code Receives the code: 0, 1, 2 (granted QoS) or AZK_MQTT_SUBACK_FAILURE.
 * @return true with an entry; false at the end (or when not over a SUBACK).
 */
AZK_API bool azk_mqtt_iter_next_suback_code(struct azk_mqtt_iter *it, uint8_t *code);

/* ---------------------------------------------------------------------------------------- */
/* Building blocks                                                                          */
/* ---------------------------------------------------------------------------------------- */

/**
 * @brief Bytes needed to encode a remaining length.
 * @param value The length.
 * @return 1..4, or 0 when @p value exceeds AZK_MQTT_MAX_REMAINING_LENGTH.
 */
AZK_API size_t azk_mqtt_varint_size(uint32_t value);

/**
 * @brief Encodes a remaining length (variable length integer, 1 to 4 bytes).
 * @param value At most AZK_MQTT_MAX_REMAINING_LENGTH (else -EINVAL).
 * @param buf Output (may be NULL when buf_size is 0).
 * @param buf_size Its size.
 * @param out_len Bytes written, or needed with -ENOBUFS.
 * @return 0, -ENOBUFS or -EINVAL.
 */
AZK_API int azk_mqtt_varint_encode(uint32_t value, void *buf, size_t buf_size,
                                   size_t *out_len);

/**
 * @brief Decodes a remaining length.
 * @param data Input bytes (may be NULL when len is 0).
 * @param len Their number.
 * @param value Receives the value.
 * @param used Receives the number of bytes it took (1..4).
 * @return 0; -EAGAIN when @p data ends inside the number; -EBADMSG when the fourth byte still
 *         has its continuation bit (a 5-byte length); -EINVAL for NULL arguments.
 *         Non-minimal encodings (e.g. 80 00) are accepted, as MQTT 3.1.1 does not forbid them.
 */
AZK_API int azk_mqtt_varint_decode(const void *data, size_t len, uint32_t *value,
                                   size_t *used);

/**
 * @brief Checks an MQTT UTF-8 string: well-formed UTF-8 (no overlongs, no surrogates
 *        U+D800-U+DFFF, nothing above U+10FFFF) without U+0000.
 * @param s The string.
 * @return AZK_MQTT_R_OK, AZK_MQTT_R_UTF8_INVALID or AZK_MQTT_R_UTF8_NUL.
 */
AZK_API enum azk_mqtt_reason azk_mqtt_utf8_check(struct azk_span s);

/**
 * @brief Checks a topic name for PUBLISH: non-empty, valid UTF-8, no '+' or '#'.
 * @param topic The topic.
 * @return AZK_MQTT_R_OK, AZK_MQTT_R_TOPIC_EMPTY, AZK_MQTT_R_TOPIC_WILDCARD or a UTF-8 reason.
 */
AZK_API enum azk_mqtt_reason azk_mqtt_topic_check(struct azk_span topic);

/**
 * @brief Checks a topic filter: non-empty, valid UTF-8, '#' only as the whole last level and
 *        '+' only as a whole level.
 * @param filter The filter.
 * @return AZK_MQTT_R_OK, AZK_MQTT_R_FILTER_EMPTY, AZK_MQTT_R_FILTER_INVALID or a UTF-8
 *         reason.
 */
AZK_API enum azk_mqtt_reason azk_mqtt_filter_check(struct azk_span filter);

#ifdef __cplusplus
}
#endif
#endif

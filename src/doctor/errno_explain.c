/* The error-number table of doctor/errno_explain.h.
 *
 * Sources for the nRF91 side (see docs/troubleshooting.md for the full list):
 *  - numbers: zephyr lib/libc/minimal/include/errno.h (the newlib numbering), checked against
 *    newlib's sys/errno.h by tests/unit/test_errno.c;
 *  - nrf_connect() sets ECONNREFUSED "when failing due to a missing certificate, wrong
 *    certificate, or a wrong private key" (sdk-nrfxlib nrf_modem/doc/CHANGELOG.rst, nrf_modem
 *    1.1.0); EBUSY: another TLS handshake is ongoing; ESHUTDOWN: the modem was shut down
 *    (nrf_socket.h, nrf_connect);
 *  - azure_iot_hub_connect(), mqtt_helper and modem_key_mgmt return codes: sdk-nrf
 *    include/net/azure_iot_hub.h, include/net/mqtt_helper.h, lib/modem_key_mgmt (translate_error:
 *    +CME ERROR 513 ENOENT, 514 EACCES, 515 ENOMEM, 518 EPERM, 519 EALREADY, 527 EINVAL,
 *    528 ECANCELED, 0 EIO, 23 E2BIG, 50 EINVAL, 60 ENOEXEC).
 * Causes marked "(inferred)" are readings of the code, not documented behaviour. */
#include "doctor/errno_explain.h"

#include <stdlib.h>
#include <strings.h>

#define DOCTOR "`azkit doctor --sec-tag 10 [--sec-tag 11]` (the tags your firmware's socket uses)"

static const struct azki_errno_info table[] = {
    {"EPERM", 1, 1, "operation not permitted",
     {{"modem_key_mgmt write/delete while the LTE link is active (+CME ERROR 518): %CMNG "
       "changes only in CFUN=4 or before lte_lc_connect()",
       "provision in offline mode: AT+CFUN=4, then write, then connect"}},
     {{"a file or directory of the credential store belongs to someone else",
       "ls -l on the store directory ($AZKIT_STORE)"}}},
    {"ENOENT", 2, 2, "not found",
     {{"modem_key_mgmt: no credential at this sec_tag and type (+CME ERROR 513)",
       "AT%CMNG=1 lists what the modem holds; `azkit --store nrf91:/dev/ttyACM0 cred list`"},
      {"azure_iot_hub_connect() while the library is not in the disconnected state",
       "call it once, after azure_iot_hub_init(), and wait for AZURE_IOT_HUB_EVT_DISCONNECTED "
       "before connecting again"},
      {"azure_iot_hub_dps_hostname_get/device_id_get: nothing assigned and stored yet",
       "run DPS first (use_dps = true)"}},
     {{"no credential at that sec_tag and type, or no such file",
       "`azkit cred list` (and which store: --store / $AZKIT_STORE)"}}},
    {"EINTR", 4, 4, "interrupted", {{"a signal interrupted a blocking call", "retry"}},
     {{"a signal interrupted a blocking call (Ctrl-C)", "retry"}}},
    {"EIO", 5, 5, "input/output error",
     {{"modem_key_mgmt: the modem answered plain ERROR or +CME ERROR 0 (command not supported "
       "by this modem firmware)", "check the modem firmware version: AT%SHORTSWVER / AT+CGMR"}},
     {{"the credential store or the serial line to the modem failed",
       "`azkit cred list`; for a modem, the port and its baud rate"}}},
    {"ENXIO", 6, 6, "no such device or address",
     {{"azure_iot_hub_disconnect()/method_respond(): the MQTT library reported an error",
       "the log line before it (CONFIG_AZURE_IOT_HUB_LOG_LEVEL_DBG=y)"}},
     {{"the serial device of a modem store does not exist", "ls /dev/ttyACM*"}}},
    {"E2BIG", 7, 7, "too large",
     {{"modem_key_mgmt: +CME ERROR 23 (the content is too large for the modem)",
       "`azkit cred list` shows sizes; a whole AT%CMNG command must fit in 4096 bytes"}},
     {{"a credential or a message is larger than azkit accepts", "the message names the limit"}}},
    {"ENOEXEC", 8, 8, "not executable / not supported in this state",
     {{"modem_key_mgmt: +CME ERROR 60", "the modem's AT command reference for %CMNG"}},
     {{"the modem answered +CME ERROR 60", "the modem's AT command reference for %CMNG"}}},
    {"EAGAIN", 11, 11, "try again (would block, or a socket timeout)",
     {{"a socket timeout (SO_RCVTIMEO / SO_SNDTIMEO, CONFIG_MQTT_HELPER_SEND_TIMEOUT_SEC): the "
       "network is slow or gone", "the LTE link (AT+CEREG?, AT%XMONITOR)"}},
     {{"a non-blocking operation would block, or a timeout expired", "retry"}}},
    {"ENOMEM", 12, 12, "out of memory or buffer too small",
     {{"modem_key_mgmt: the modem's credential storage is full (+CME ERROR 515)",
       "AT%CMNG=1 lists what is stored; delete what is not used (AT%CMNG=3,tag,type)"},
      {"modem_key_mgmt_read(): the buffer is smaller than the credential (the length needed "
       "comes back in *len)", "pass a larger buffer"},
      {"the heap is exhausted (TLS, cJSON, the azure_iot_hub library)",
       "raise CONFIG_HEAP_MEM_POOL_SIZE"}},
     {{"memory or a caller's buffer is too small", "the message names the buffer"}}},
    {"EACCES", 13, 13, "access denied",
     {{"modem_key_mgmt: no access (+CME ERROR 514), e.g. reading back a private key (type 2), "
       "which the modem never releases", "compare digests instead: AT%CMNG=1,tag,type"},
      {"azure_iot_hub_dps_start()/reset() while DPS is in a state that does not allow it",
       "wait for the DPS handler's result"}},
     {{"the store directory or key file is not readable, or a private key was read back",
       "ls -l the store; keys are written, never read back"}}},
    {"EFAULT", 14, 14, "bad address / internal error",
     {{"azure_iot_hub_connect(): internal error; azure_iot_hub_dps_init(): the registration "
       "id or the id scope ended up empty", "set CONFIG_AZURE_IOT_HUB_DPS_ID_SCOPE and the "
       "registration id (= the certificate's CN)"}},
     {{"an internal error", "report it with the command that caused it"}}},
    {"EBUSY", 16, 16, "busy",
     {{"nrf_connect(): another TLS handshake was ongoing (the modem does one at a time)",
       "serialise connections (DPS, then IoT Hub, then FOTA)"}},
     {{"the resource is in use", "retry"}}},
    {"EEXIST", 17, 17, "already exists",
     {{"tls_credential_add() on the nrf_modem backend: a credential with other content is "
       "already there", "delete it first (AT%CMNG=3,tag,type) or compare with `azkit cred cmp`"}},
     {{"a credential or file already exists", "delete it first, or use the option that "
       "replaces it"}}},
    {"ENOTDIR", 20, 20, "not a directory",
     {{"not used by the NCS Azure libraries", "-"}},
     {{"the store path is not a directory", "--store / $AZKIT_STORE"}}},
    {"EINVAL", 22, 22, "invalid argument",
     {{"modem_key_mgmt write: the modem refused the content (+CME ERROR 527: not a PEM it can "
       "parse, line breaks sent as the two characters \\n, or CRLF on some firmware)",
       "`azkit cred write TAG TYPE FILE` validates a PEM the way the modem parses it"},
      {"azure_iot_hub_connect()/init(): a missing setting (host name, device id, handler)",
       "CONFIG_AZURE_IOT_HUB_HOSTNAME / _DEVICE_ID, or the config struct"},
      {"modem_key_mgmt_write() with an empty buffer (len 0)", "pass strlen(pem) or sizeof(pem)"}},
     {{"a wrong option value or malformed input", "the message names the thing"}}},
    {"EMFILE", 24, 24, "too many open files",
     {{"all sockets are in use (the modem offers a handful)", "close sockets you no longer use"}},
     {{"the process ran out of file descriptors (many devices in one process)",
       "ulimit -n; fewer devices per process"}}},
    {"ENFILE", 23, 23, "too many open files in the system",
     {{"not returned by the NCS Azure libraries (the modem's socket limit is EMFILE)", "-"}},
     {{"the whole system ran out of file descriptors (a large fleet, or many processes)",
       "sysctl fs.file-max; fewer devices per machine"}}},
    {"EFBIG", 27, 27, "file too large",
     {{"not used by the NCS Azure libraries", "-"}},
     {{"a credential file is larger than any PEM the modem accepts", "check the file"}}},
    {"ENOSPC", 28, 28, "no space left",
     {{"flash settings full (DPS stores the assigned hub there)", "the settings partition"}},
     {{"the disk holding the store is full", "df on the store directory"}}},
    {"ENAMETOOLONG", 91, 36, "name or path too long",
     {{"a host name or id longer than its buffer", "CONFIG_AZURE_IOT_HUB_DPS_HOSTNAME_MAX_LEN"}},
     {{"a store path or a name is too long", "a shorter --store path"}}},
    {"EPIPE", 32, 32, "broken pipe",
     {{"sent on a connection the server already closed (after a refusal)",
       "the earlier CONNACK / DPS status; " DOCTOR}},
     {{"sent on a connection the server already closed", "the earlier failure in the log"}}},
    {"EDOM", 33, 33, "value out of domain",
     {{"a socket timeout larger than the modem supports", "use a smaller timeout"}},
     {{"a value is not an integer or not in range", "the option named in the message"}}},
    {"ERANGE", 34, 34, "value out of range",
     {{"a value is out of range", "-"}}, {{"a number is out of range", "the option named"}}},
    {"ENOMSG", 35, 42, "no message of the desired type",
     {{"azure_iot_hub_send(): an invalid topic type", "use AZURE_IOT_HUB_TOPIC_EVENT / "
       "_TWIN_REPORTED / _TWIN_REQUEST"}},
     {{"no message of that type", "-"}}},
    {"EPROTO", 71, 71, "protocol error",
     {{"the server broke the MQTT or TLS protocol (or it is not an MQTT server: port 8883 is "
       "MQTT over TLS, 443 MQTT over WebSockets)", "CONFIG_MQTT_HELPER_PORT / the host name"}},
     {{"the peer broke MQTT, TLS or the Azure protocol, or a response was malformed",
       "the message; for a local hub, its log"}}},
    {"EBADMSG", 77, 74, "malformed content",
     {{"a malformed MQTT packet or credential", "-"}},
     {{"a PEM, a packet or a JSON document does not parse", "the message names what"}}},
    {"ENOTSOCK", 108, 88, "not a socket", {{"a closed or wrong socket descriptor", "-"}},
     {{"a closed or wrong socket descriptor", "-"}}},
    {"EMSGSIZE", 122, 90, "message too large",
     {{"azure_iot_hub_connect(): the device id is too long; azure_iot_hub_send(): the topic "
       "buffer is too small for the message properties", "CONFIG_AZURE_IOT_HUB_TOPIC_MAX_LEN, "
       "CONFIG_AZURE_IOT_HUB_MSG_PROPERTY_BUFFER_SIZE"},
      {"azure_iot_hub_dps_hostname_get()/device_id_get(): the buffer is too small",
       "CONFIG_AZURE_IOT_HUB_DPS_HOSTNAME_MAX_LEN / _DEVICE_ID_MAX_LEN"}},
     {{"a message, topic or property bag is larger than Azure or the buffer allows",
       "the message names the limit"}}},
    {"EOPNOTSUPP", 95, 95, "operation not supported",
     {{"mqtt_helper (under azure_iot_hub) called in the wrong state: connect while connecting "
       "or connected, publish or subscribe before the connection is up",
       "wait for AZURE_IOT_HUB_EVT_READY before sending; one azure_iot_hub_connect() at a "
       "time"},
      {"a socket option or TLS setting the modem firmware does not support (the modem "
       "speaks TLS 1.2)", "the modem firmware's release notes"}},
     {{"an operation or option is not supported", "the message"}}},
    {"ECONNRESET", 104, 104, "connection reset by peer",
     {{"the server dropped the connection: another connection with the same device id took "
       "over (IoT Hub keeps one connection per device)", "is another client (a test tool, a "
       "second device with the same certificate) connected as this device?"},
      {"the NAT of the mobile network forgot an idle connection (keepalive longer than the "
       "NAT timeout)", "CONFIG_MQTT_KEEPALIVE below the operator's NAT timeout (max 1767 s)"},
      {"the server refused the device after the handshake and closed the connection",
       "the CONNACK / DPS status before it; " DOCTOR}},
     {{"the server closed the connection abruptly (refusal, takeover by another connection "
       "with the same id, network)", "the failure reason azkit prints; for a local hub, its "
       "log"}}},
    {"ENOBUFS", 105, 105, "no buffer space",
     {{"no free socket in the modem", "close sockets you no longer use"},
      {"the server sent a TLS record larger than the modem's receive buffer",
       "the server's maximum fragment length"}},
     {{"a buffer is too small", "the message names it"}}},
    {"ESHUTDOWN", 110, 108, "the modem (or the socket) was shut down",
     {{"nrf_connect()/send(): the modem was shut down or put offline (CFUN=0/4, a modem "
       "fault) under the socket -- not a timeout, although -110 is ETIMEDOUT on Linux",
       "the modem's functional mode (AT+CFUN?) and the NCS log around the failure"}},
     {{"sent after the socket was shut down", "-"}}},
    {"ECONNREFUSED", 111, 111, "connection refused",
     {{"the modem's TLS handshake failed: nrf_connect() reports ECONNREFUSED for a missing "
       "certificate, a wrong certificate or a wrong private key (nrf_modem 1.1.0) -- the "
       "server's root is not in the socket's tags (Azure: DigiCert Global Root G2; Baltimore "
       "CyberTrust Root alone fails since the migration)", DOCTOR " checks the roots"},
      {"the device certificate or its key is not in a tag the socket offers (e.g. in tag 12 "
       "while CONFIG_MQTT_HELPER_SEC_TAG=10), or a root CA was written as type 1",
       "`azkit cred list`, then " DOCTOR},
      {"the private key does not belong to the certificate", DOCTOR},
      {"nothing listens at the host and port (a plain TCP refusal)",
       "the host name and CONFIG_MQTT_HELPER_PORT (8883)"}},
     {{"nothing listens at that host and port (TCP refused; azkit reports TLS failures "
       "separately)", "the host and port (MQTT over TLS: 8883)"}}},
    {"EADDRINUSE", 112, 98, "address in use", {{"a local port is in use", "-"}},
     {{"a local port is in use (a second azkit-hub on the same port?)", "ss -ltnp"}}},
    {"ECONNABORTED", 113, 103, "connection aborted on this side",
     {{"(inferred) the device itself tore the connection down: Zephyr's MQTT library reports "
       "a disconnect with -ECONNABORTED when it aborts (mqtt_abort, e.g. after a failed read "
       "or a missed keepalive); -113 on Linux is EHOSTUNREACH, not this",
       "the MQTT/NCS log just before it; the LTE link"}},
     {{"the connection was aborted locally", "-"}}},
    {"ENETUNREACH", 114, 101, "network unreachable",
     {{"no LTE network or no active PDN yet", "wait for the network (lte_lc / conn_mgr L4 "
       "connected) before connecting; AT+CEREG?"}},
     {{"no route to the network", "the network connection"}}},
    {"ENETDOWN", 115, 100, "network down",
     {{"the LTE link went down under the connection", "AT+CEREG?, coverage"}},
     {{"the network interface is down", "the network connection"}}},
    {"ETIMEDOUT", 116, 110, "timed out",
     {{"azure_iot_hub_connect() with DPS: registration did not finish within "
       "CONFIG_AZURE_IOT_HUB_DPS_TIMEOUT_SEC; the library only notices a DPS refusal (wrong "
       "id scope, no enrollment, CN != registration id, missing intermediate) by this timeout",
       DOCTOR " (add --id-scope SCOPE --register to try the registration)"},
      {"the TCP connection or the TLS handshake got no answer (coverage, a firewall blocking "
       "8883)", "the network; the host name"}},
     {{"no answer in time: a firewall drops 8883, the address is wrong, or the network is "
       "down", "the host and port; `azkit doctor --hub H` shows the stage"}}},
    {"EHOSTDOWN", 117, 112, "host is down", {{"the host is down", "-"}},
     {{"the host is down", "-"}}},
    {"EHOSTUNREACH", 118, 113, "no route to host",
     {{"the host cannot be reached (a wrong address or URL: the NCS FOTA sample documents "
       "-NRF_EHOSTUNREACH for a wrong download URL)", "the host name / URL"}},
     {{"no route to the host (-113 on an nRF91 is ECONNABORTED, not this)",
       "the network, the address"}}},
    {"EINPROGRESS", 119, 115, "operation in progress",
     {{"azure_iot_hub_connect() while a connection attempt is in progress",
       "wait for AZURE_IOT_HUB_EVT_CONNECTED / _CONNECTION_FAILED"}},
     {{"a non-blocking connect is in progress", "-"}}},
    {"EALREADY", 120, 114, "already done or in progress",
     {{"azure_iot_hub_connect(): already connected", "nothing to do; disconnect first to "
       "reconnect"},
      {"azure_iot_hub_dps_start(): the device is already assigned (hub and device id stored in "
       "settings), so DPS is not contacted again", "azure_iot_hub_dps_reset(), then init, to "
       "provision again"},
      {"modem_key_mgmt write: the credential already exists and cannot be overwritten "
       "(+CME ERROR 519)", "delete it first (AT%CMNG=3,tag,type)"}},
     {{"the operation was already done or is in progress (e.g. the modem answered +CME ERROR "
       "519)", "the message"}}},
    {"EISCONN", 127, 106, "already connected", {{"connect() on a connected socket", "-"}},
     {{"connect() on a connected socket", "-"}}},
    {"ENOTCONN", 128, 107, "not connected",
     {{"azure_iot_hub_send()/disconnect()/method_respond() while not connected",
       "send after AZURE_IOT_HUB_EVT_READY; reconnect after _DISCONNECTED"},
      {"(inferred) the server closed the connection (Zephyr's MQTT library reads an orderly "
       "close as not connected): after a refused CONNECT, IoT Hub closes",
       "the CONNACK code logged before it; " DOCTOR}},
     {{"the connection is not (or no longer) up", "the failure before it"}}},
    {"ENODATA", 61, 61, "no data available",
     {{"the modem lists a credential without its digest (%CMNG: tag,type with no SHA)", "-"}},
     {{"a credential store that keeps no digest for that credential", "-"}}},
    {"ENOTSUP", 134, 95, "not supported",
     {{"a feature or value the modem or library does not support", "-"}},
     {{"not supported (on Linux the same number as EOPNOTSUPP)", "the message"}}},
    {"EILSEQ", 138, 84, "invalid or damaged data",
     {{"text that is not valid UTF-8 where MQTT requires it", "the topic / id bytes"}},
     {{"invalid UTF-8 or damaged data", "the message names it"}}},
    {"EOVERFLOW", 139, 75, "value too large", {{"a value too large for its type", "-"}},
     {{"a value too large for its type", "-"}}},
    {"ECANCELED", 140, 125, "canceled",
     {{"modem_key_mgmt: the modem's power-off warning is active (+CME ERROR 528)",
       "restore the supply voltage, then retry"}},
     {{"the operation was canceled (stop requested, or the modem reported +CME ERROR 528)",
       "-"}}},
    /* Linux only (not in Zephyr's numbering). */
    {"ENOKEY", 0, 126, "required key not available",
     {{"not a Zephyr error number", "-"}},
     {{"the certificate's tag holds no private key (type 2)", "`azkit cred list TAG`; "
       "`azkit cred write TAG key KEY.pem`"}}},
    {"EKEYEXPIRED", 0, 127, "key or certificate expired",
     {{"not a Zephyr error number (-127 on an nRF91 is EISCONN)", "-"}},
     {{"a certificate has expired", "`azkit cred list` shows expiry"}}},
    {"EKEYREVOKED", 0, 128, "key revoked",
     {{"not a Zephyr error number (-128 on an nRF91 is ENOTCONN)", "-"}},
     {{"a key was revoked", "-"}}},
    {"EKEYREJECTED", 0, 129, "key or certificate rejected",
     {{"not a Zephyr error number", "-"}},
     {{"a key does not belong to the certificate, or a certificate is unusable",
       "`azkit doctor` names which"}}},
    {"ESTALE", 133, 116, "stale (out of date)",
     {{"not returned by the NCS Azure libraries (newlib numbers it 133)", "-"}},
     {{"azkit-hub: the record changed since it was read (etag mismatch); outside azkit a "
       "stale NFS file handle. -116 from a device is ETIMEDOUT, not this",
       "read it again and retry"}}},
};

const struct azki_errno_info *azki_errno_table(size_t *n)
{
    *n = sizeof(table) / sizeof(table[0]);
    return table;
}

const struct azki_errno_info *azki_errno_by_name(const char *name)
{
    for (size_t i = 0; name && i < sizeof(table) / sizeof(table[0]); i++)
        if (strcasecmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

const struct azki_errno_info *azki_errno_by_nrf91(int number)
{
    number = abs(number);
    for (size_t i = 0; number && i < sizeof(table) / sizeof(table[0]); i++)
        if (table[i].nrf91 == number)
            return &table[i];
    return NULL;
}

const struct azki_errno_info *azki_errno_by_linux(int number)
{
    number = abs(number);
    for (size_t i = 0; number && i < sizeof(table) / sizeof(table[0]); i++)
        if (table[i].linux_no == number)
            return &table[i];
    return NULL;
}

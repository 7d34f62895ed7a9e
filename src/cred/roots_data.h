/* The committed Azure roots (data/roots/NAME.pem), embedded at build time. */
#ifndef AZK_CRED_ROOTS_DATA_H
#define AZK_CRED_ROOTS_DATA_H
extern const char AZKI_ROOT_DIGICERT_G2_PEM[];
extern const char AZKI_ROOT_MICROSOFT_RSA_2017_PEM[];
extern const char AZKI_ROOT_BALTIMORE_PEM[];
#endif

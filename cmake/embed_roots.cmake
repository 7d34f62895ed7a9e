# Generates a C source holding the committed Azure root certificates (data/roots/*.pem) as
# string literals, so the library and CLI work without a data directory after install.
# Invoked at build time: cmake -DROOTS_DIR=... -DOUT=... -P embed_roots.cmake
set(names digicert-global-root-g2 microsoft-rsa-root-ca-2017 baltimore-cybertrust-root)
set(symbols AZKI_ROOT_DIGICERT_G2 AZKI_ROOT_MICROSOFT_RSA_2017 AZKI_ROOT_BALTIMORE)
set(body "/* Generated from data/roots by cmake/embed_roots.cmake. Do not edit. */\n#include \"cred/roots_data.h\"\n\n")
foreach(i RANGE 0 2)
  list(GET names ${i} name)
  list(GET symbols ${i} sym)
  file(STRINGS "${ROOTS_DIR}/${name}.pem" lines)
  string(APPEND body "const char ${sym}_PEM[] =\n")
  foreach(line IN LISTS lines)
    string(APPEND body "    \"${line}\\n\"\n")
  endforeach()
  string(APPEND body "    ;\n\n")
endforeach()
file(WRITE "${OUT}.tmp" "${body}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")

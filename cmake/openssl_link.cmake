# How targets link OpenSSL. Libraries name ${AZK_OPENSSL_LINK}; it resolves per consuming
# executable: to the shared libraries, or to Debian's libssl.a/libcrypto.a (from libssl-dev) for an
# executable marked with azk_link_openssl_statically(). Why static for the azkit command: a device
# process starts often and briefly, and binding libcrypto's thousands of symbols at every start
# was a fifth of a warm `azkit run` (docs/benchmarks.md). The price: a libssl3 security update
# reaches azkit only when it is rebuilt, so distro packagers set -DAZK_STATIC_OPENSSL=OFF.
set(_azk_static "$<BOOL:$<TARGET_PROPERTY:AZK_OPENSSL_STATIC>>")
set(AZK_OPENSSL_LINK OpenSSL::SSL OpenSSL::Crypto)

if(AZK_STATIC_OPENSSL)
  get_filename_component(_azk_ssl_dir "${OPENSSL_SSL_LIBRARY}" DIRECTORY)
  find_file(AZK_LIBSSL_A libssl.a HINTS "${_azk_ssl_dir}" NO_DEFAULT_PATH)
  find_file(AZK_LIBCRYPTO_A libcrypto.a HINTS "${_azk_ssl_dir}" NO_DEFAULT_PATH)
  if(AZK_LIBSSL_A AND AZK_LIBCRYPTO_A)
    find_package(Threads REQUIRED)
    add_library(azk_openssl_static INTERFACE)
    target_include_directories(azk_openssl_static INTERFACE ${OPENSSL_INCLUDE_DIR})
    target_link_libraries(azk_openssl_static INTERFACE
      ${AZK_LIBSSL_A} ${AZK_LIBCRYPTO_A} Threads::Threads ${CMAKE_DL_LIBS})
    set(AZK_OPENSSL_LINK
      "$<IF:${_azk_static},azk_openssl_static,OpenSSL::SSL>"
      "$<IF:${_azk_static},azk_openssl_static,OpenSSL::Crypto>")
  else()
    message(STATUS "azkit: libssl.a/libcrypto.a not found beside ${OPENSSL_SSL_LIBRARY}: "
                   "the azkit command links OpenSSL's shared libraries")
  endif()
endif()

# Marks an executable to take OpenSSL from the static archives when they are in use.
function(azk_link_openssl_statically target)
  set_property(TARGET ${target} PROPERTY AZK_OPENSSL_STATIC ON)
  include(CheckLinkerFlag)
  check_linker_flag(C "-Wl,-z,pack-relative-relocs" AZK_HAVE_RELR)
  if(AZK_HAVE_RELR AND AZK_STATIC_OPENSSL)
    # Compact relative relocations (glibc 2.36+): fewer pages touched at start.
    target_link_options(${target} PRIVATE "-Wl,-z,pack-relative-relocs")
  endif()
endfunction()

# cmake --install into a scratch prefix; compile and run a consumer with pkg-config, against
# the shared library and against the static one.
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(rc)
  message(FATAL_ERROR "cmake --install failed: ${rc}")
endif()
foreach(f include/azkit/azkit.h include/azkit/cred.h bin/azkit)
  if(NOT EXISTS ${WORK_DIR}/prefix/${f})
    message(FATAL_ERROR "not installed: ${f}")
  endif()
endforeach()
file(GLOB pcfile ${WORK_DIR}/prefix/lib*/pkgconfig/azkit.pc ${WORK_DIR}/prefix/lib/*/pkgconfig/azkit.pc)
if(NOT pcfile)
  message(FATAL_ERROR "azkit.pc not installed")
endif()
get_filename_component(pcdir ${pcfile} DIRECTORY)
set(ENV{PKG_CONFIG_PATH} ${pcdir})
execute_process(COMMAND pkg-config --cflags --libs azkit OUTPUT_VARIABLE flags
                RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE)
if(rc)
  message(FATAL_ERROR "pkg-config azkit failed")
endif()
execute_process(COMMAND pkg-config --static --libs azkit OUTPUT_VARIABLE sflags
                OUTPUT_STRIP_TRAILING_WHITESPACE)
separate_arguments(flags)
separate_arguments(sflags)
execute_process(COMMAND pkg-config --variable=libdir azkit OUTPUT_VARIABLE libdir
                OUTPUT_STRIP_TRAILING_WHITESPACE)
execute_process(COMMAND ${CC} ${SRC_DIR}/consumer.c ${flags} -o ${WORK_DIR}/consumer_shared
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "consumer did not compile against the installed shared library")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${libdir} ${WORK_DIR}/consumer_shared
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "consumer (shared) failed: ${rc}")
endif()
execute_process(COMMAND ${CC} ${SRC_DIR}/consumer.c -I${WORK_DIR}/prefix/include
                ${libdir}/libazkit.a ${sflags} -lssl -lcrypto -o ${WORK_DIR}/consumer_static
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "consumer did not link against the installed static library")
endif()
execute_process(COMMAND ${WORK_DIR}/consumer_static RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "consumer (static) failed: ${rc}")
endif()

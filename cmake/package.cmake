# What `cmake --install` and `cpack -G DEB` ship besides the targets: the
# pkg-config file, the demo page, the systemd unit, the deployment examples
# and the docs.

# pkg-config: relative to its own directory, so an unpacked tree works too.
file(RELATIVE_PATH PC_PREFIX_FROM_PCDIR "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
string(REGEX REPLACE "/$" "" PC_PREFIX_FROM_PCDIR "${PC_PREFIX_FROM_PCDIR}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/ssebridge.pc.in ${PROJECT_BINARY_DIR}/ssebridge.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/ssebridge.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/web/ DESTINATION ${CMAKE_INSTALL_DATADIR}/ssebridge/web)
# /usr/lib/systemd/system on Debian (merged /usr).
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/ssebridge-gateway.service
        DESTINATION lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/gateway.env
              ${PROJECT_SOURCE_DIR}/deploy/nginx/ssebridge.conf
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/operations.md
              ${PROJECT_SOURCE_DIR}/docs/security.md ${PROJECT_SOURCE_DIR}/docs/sessions.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_PACKAGE_NAME ssebridge)
set(CPACK_PACKAGE_VENDOR ssebridge)
set(CPACK_PACKAGE_CONTACT "ssebridge developers <dev@ssebridge.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "gateway streaming background workers' events to browsers over Server-Sent Events")
set(CPACK_PACKAGE_DESCRIPTION
    "ssebridge-gateway takes session requests over HTTP, produces them to Kafka and relays\n"
    "the workers' events from Redis to the clients as Server-Sent Events; sessions outlive\n"
    "their connections (resume, Stop, many readers). Also ships ssebridge-worker (the\n"
    "reference worker), ssebridge-publish, the Python worker module, the static C++\n"
    "libraries with their CMake package and pkg-config file, and a hardened systemd unit.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
# The runtime libraries from the binaries' own links (dpkg-shlibdeps).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# What building against the libraries needs.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS
    "redis-server, nginx, libboost1.81-dev, libboost-json1.81-dev, librdkafka-dev, libssl-dev, prometheus-cpp-dev")
include(CPack)

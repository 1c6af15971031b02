# Turns migrations/NNNN_name.sql into a C array of {name, sql} so the
# binaries carry them. Run by the build with -DOUT=... -DFILES=a;b;c.
set(body "/* generated from migrations/ by cmake/embed-migrations.cmake */\n#include \"lib/migrate.h\"\n\nconst struct migration migrations_embedded[] = {\n")
foreach(f ${FILES})
  get_filename_component(name ${f} NAME_WE)
  file(READ ${f} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "\\\\x\\1" escaped "${hex}")
  # Break the literal every 64 bytes to keep compilers and editors happy.
  string(REGEX REPLACE "((\\\\x[0-9a-f][0-9a-f]){64})" "\\1\"\n\"" escaped "${escaped}")
  string(APPEND body "  {\"${name}\",\n\"${escaped}\"},\n")
endforeach()
string(APPEND body "};\nconst unsigned migrations_embedded_count = sizeof migrations_embedded / sizeof migrations_embedded[0];\n")
file(WRITE ${OUT}.tmp "${body}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)

# Warnings for the project's own targets. OCEAN_WARNINGS_AS_ERRORS turns them into errors (CI does).
function(ocean_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
    -Wno-missing-field-initializers
    # GCC 12 reports a false mismatch on Asio's coroutine frame allocator.
    -Wno-mismatched-new-delete)
  if(OCEAN_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

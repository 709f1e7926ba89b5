# Shared by the fixture scripts of tests/reference/: each script finds its own
# directory `here` (two lines, they cannot be shared) and then
#
#     source(file.path(here, "fixture_helpers.R"))
#
# which defines
#   data_dir, out_dir       tests/reference/data and tests/reference/fixtures (created)
#   fmt(x)                  doubles as text with `fixture_digits` significant digits
#                           (15 unless the script set it before sourcing), "" for NA
#   write_fixture(frame, name)
#                           `frame` as out_dir/name, doubles through fmt, no quotes
#   write_meta(name, script, packages)
#                           out_dir/name: the versions of `packages` and R, and the script
#
# The tests read the fixtures; neither a user nor CI needs R.

data_dir <- file.path(here, "data")
out_dir <- file.path(here, "fixtures")
dir.create(out_dir, showWarnings = FALSE)

if (!exists("fixture_digits")) fixture_digits <- 15

fmt <- function(x) ifelse(is.na(x), "", trimws(formatC(x, digits = fixture_digits, format = "g")))

write_fixture <- function(frame, name) {
  for (col in names(frame)) {
    if (is.double(frame[[col]])) frame[[col]] <- fmt(frame[[col]])
  }
  write.csv(frame, file.path(out_dir, name), row.names = FALSE, quote = FALSE, na = "")
}

write_meta <- function(name, script, packages = "lavaan") {
  versions <- vapply(packages, function(p) as.character(packageVersion(p)), "")
  meta <- data.frame(
    key = c(packages, "R", "script"),
    value = c(versions, R.version.string, file.path("tests/reference", script))
  )
  write.csv(meta, file.path(out_dir, name), row.names = FALSE)
}

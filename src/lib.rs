//! `residual`: access that outlived the person. (Core library; modules are added as they land.)

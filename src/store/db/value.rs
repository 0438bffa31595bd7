//! The one parameter and column value type of both backends: what a store module binds
//! ([`ToSql`]) and reads back ([`FromSql`]), borrowed so that binding a row costs no copy on the
//! SQLite hot paths.

use std::fmt;

/// A value bound to a statement or read from a row, in SQLite's five storage classes (PostgreSQL
/// columns map onto them: BIGINT/INTEGER/SMALLINT/BOOLEAN → `Integer`, DOUBLE → `Real`,
/// TEXT → `Text`, BYTEA → `Blob`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ValueRef<'a> {
    Null,
    Integer(i64),
    Real(f64),
    Text(&'a [u8]),
    Blob(&'a [u8]),
}

/// A stored value is not of the type the reader asked for.
#[derive(Debug, thiserror::Error)]
pub enum FromSqlError {
    #[error("invalid column type")]
    InvalidType,
    #[error("integer {0} out of range")]
    OutOfRange(i64),
    #[error("{0}")]
    Other(String),
}

pub type FromSqlResult<T> = std::result::Result<T, FromSqlError>;

impl<'a> ValueRef<'a> {
    pub fn as_str(&self) -> FromSqlResult<&'a str> {
        match *self {
            ValueRef::Text(t) => {
                std::str::from_utf8(t).map_err(|e| FromSqlError::Other(e.to_string()))
            }
            _ => Err(FromSqlError::InvalidType),
        }
    }

    /// The bytes of a TEXT or BLOB value (a column that holds either, as observation content
    /// does across schema versions).
    pub fn as_bytes(&self) -> FromSqlResult<&'a [u8]> {
        match *self {
            ValueRef::Text(b) | ValueRef::Blob(b) => Ok(b),
            _ => Err(FromSqlError::InvalidType),
        }
    }

    pub fn as_blob(&self) -> FromSqlResult<&'a [u8]> {
        match *self {
            ValueRef::Blob(b) => Ok(b),
            _ => Err(FromSqlError::InvalidType),
        }
    }

    pub fn as_i64(&self) -> FromSqlResult<i64> {
        match *self {
            ValueRef::Integer(i) => Ok(i),
            _ => Err(FromSqlError::InvalidType),
        }
    }

    pub(super) fn to_sqlite(self) -> rusqlite::types::ValueRef<'a> {
        use rusqlite::types::ValueRef as S;
        match self {
            ValueRef::Null => S::Null,
            ValueRef::Integer(i) => S::Integer(i),
            ValueRef::Real(f) => S::Real(f),
            ValueRef::Text(t) => S::Text(t),
            ValueRef::Blob(b) => S::Blob(b),
        }
    }

    pub(super) fn from_sqlite(v: rusqlite::types::ValueRef<'a>) -> ValueRef<'a> {
        use rusqlite::types::ValueRef as S;
        match v {
            S::Null => ValueRef::Null,
            S::Integer(i) => ValueRef::Integer(i),
            S::Real(f) => ValueRef::Real(f),
            S::Text(t) => ValueRef::Text(t),
            S::Blob(b) => ValueRef::Blob(b),
        }
    }
}

/// A Rust value that can be bound as a statement parameter.
pub trait ToSql {
    fn to_sql(&self) -> ValueRef<'_>;
}

/// A Rust value that can be read from a column.
pub trait FromSql: Sized {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self>;
}

impl<T: ToSql + ?Sized> ToSql for &T {
    fn to_sql(&self) -> ValueRef<'_> {
        (**self).to_sql()
    }
}

impl<T: ToSql> ToSql for Option<T> {
    fn to_sql(&self) -> ValueRef<'_> {
        match self {
            Some(v) => v.to_sql(),
            None => ValueRef::Null,
        }
    }
}

impl ToSql for str {
    fn to_sql(&self) -> ValueRef<'_> {
        ValueRef::Text(self.as_bytes())
    }
}

impl ToSql for String {
    fn to_sql(&self) -> ValueRef<'_> {
        ValueRef::Text(self.as_bytes())
    }
}

impl ToSql for [u8] {
    fn to_sql(&self) -> ValueRef<'_> {
        ValueRef::Blob(self)
    }
}

impl ToSql for Vec<u8> {
    fn to_sql(&self) -> ValueRef<'_> {
        ValueRef::Blob(self)
    }
}

impl ToSql for f64 {
    fn to_sql(&self) -> ValueRef<'_> {
        ValueRef::Real(*self)
    }
}

impl ToSql for bool {
    fn to_sql(&self) -> ValueRef<'_> {
        ValueRef::Integer(i64::from(*self))
    }
}

impl ToSql for ValueRef<'_> {
    fn to_sql(&self) -> ValueRef<'_> {
        *self
    }
}

macro_rules! integer_to_sql {
    ($($t:ty),*) => {$(
        impl ToSql for $t {
            fn to_sql(&self) -> ValueRef<'_> {
                ValueRef::Integer(*self as i64)
            }
        }
        impl FromSql for $t {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                let i = value.as_i64()?;
                <$t>::try_from(i).map_err(|_| FromSqlError::OutOfRange(i))
            }
        }
    )*};
}
integer_to_sql!(i8, i16, i32, u8, u16, u32, usize, u64);

impl ToSql for i64 {
    fn to_sql(&self) -> ValueRef<'_> {
        ValueRef::Integer(*self)
    }
}

impl FromSql for i64 {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        value.as_i64()
    }
}

impl FromSql for bool {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        Ok(value.as_i64()? != 0)
    }
}

impl FromSql for f64 {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match value {
            ValueRef::Real(f) => Ok(f),
            ValueRef::Integer(i) => Ok(i as f64),
            _ => Err(FromSqlError::InvalidType),
        }
    }
}

impl FromSql for String {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        value.as_str().map(str::to_owned)
    }
}

impl FromSql for Vec<u8> {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match value {
            ValueRef::Blob(b) | ValueRef::Text(b) => Ok(b.to_vec()),
            _ => Err(FromSqlError::InvalidType),
        }
    }
}

impl<T: FromSql> FromSql for Option<T> {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match value {
            ValueRef::Null => Ok(None),
            v => T::column_result(v).map(Some),
        }
    }
}

/// The parameters of one statement: a slice of [`ToSql`] values (see [`params!`](crate::params)),
/// an array of one type, or `[]`.
pub trait Params {
    fn count(&self) -> usize;
    fn value(&self, i: usize) -> ValueRef<'_>;
}

impl Params for &[&dyn ToSql] {
    fn count(&self) -> usize {
        self.len()
    }
    fn value(&self, i: usize) -> ValueRef<'_> {
        self[i].to_sql()
    }
}

impl Params for [&dyn ToSql; 0] {
    fn count(&self) -> usize {
        0
    }
    fn value(&self, _: usize) -> ValueRef<'_> {
        ValueRef::Null
    }
}

macro_rules! array_params {
    ($($n:literal),*) => {$(
        impl<T: ToSql> Params for [T; $n] {
            fn count(&self) -> usize {
                $n
            }
            fn value(&self, i: usize) -> ValueRef<'_> {
                self[i].to_sql()
            }
        }
    )*};
}
array_params!(1, 2, 3, 4, 5, 6, 7, 8);

impl fmt::Display for ValueRef<'_> {
    /// Names the storage class only: values may be secrets' fingerprints or people's data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValueRef::Null => "NULL",
            ValueRef::Integer(_) => "integer",
            ValueRef::Real(_) => "real",
            ValueRef::Text(_) => "text",
            ValueRef::Blob(_) => "blob",
        })
    }
}

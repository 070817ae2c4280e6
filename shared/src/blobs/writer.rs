//! Writing an object piece by piece (a tenant export): to a file renamed into place at the
//! end locally, to an S3 multipart upload of fixed-size parts in AWS. Memory stays at one
//! part whatever the object's size.

use std::path::PathBuf;

use tokio::io::AsyncWriteExt;

use super::s3::MultipartUpload;
use crate::error::Error;

pub struct BlobWriter {
    sink: Sink,
    written: u64,
}

enum Sink {
    Local { file: tokio::io::BufWriter<tokio::fs::File>, partial: PathBuf, target: PathBuf },
    S3(MultipartUpload),
}

fn io(e: std::io::Error) -> Error {
    Error::Internal(format!("blob store: {e}"))
}

impl BlobWriter {
    pub(super) async fn local(target: PathBuf) -> Result<Self, Error> {
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(io)?;
        }
        let partial = target.with_extension(format!("part-{}", uuid::Uuid::now_v7()));
        let file = tokio::fs::File::create(&partial).await.map_err(io)?;
        let file = tokio::io::BufWriter::with_capacity(1 << 20, file);
        Ok(Self { sink: Sink::Local { file, partial, target }, written: 0 })
    }

    pub(super) fn s3(upload: MultipartUpload) -> Self {
        Self { sink: Sink::S3(upload), written: 0 }
    }

    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), Error> {
        match &mut self.sink {
            Sink::Local { file, .. } => file.write_all(bytes).await.map_err(io)?,
            Sink::S3(upload) => upload.write(bytes).await?,
        }
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Makes the object whole under its key; answers its size.
    pub async fn finish(self) -> Result<u64, Error> {
        match self.sink {
            Sink::Local { mut file, partial, target } => {
                file.flush().await.map_err(io)?;
                file.get_ref().sync_all().await.map_err(io)?;
                tokio::fs::rename(&partial, &target).await.map_err(io)?;
            }
            Sink::S3(upload) => upload.complete().await?,
        }
        Ok(self.written)
    }

    /// Leaves nothing behind (best effort: S3 also drops unfinished uploads by a lifecycle rule).
    pub async fn abort(self) {
        match self.sink {
            Sink::Local { partial, .. } => {
                let _ = tokio::fs::remove_file(partial).await;
            }
            Sink::S3(upload) => upload.abort().await,
        }
    }
}

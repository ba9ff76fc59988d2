//! What an invalidation asks of API Gateway. The control plane through the SDK: the REST
//! API's id from its name (`GetRestApis`), whether the stage has a cache (`GetStage`), and
//! `FlushStageCache`. One entry is invalidated by requesting it at the stage's invoke URL with
//! `Cache-Control: max-age=0`, signed with SigV4 for `execute-api`, which is what a method
//! that requires authorisation for cache control (the default) checks.

use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_apigateway::error::{ProvideErrorMetadata, SdkError};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

use crate::targets::apigateway::Entry;

/// How an API Gateway call failed, by what the job should do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// Throttled (429), a server error, or no answer: try again later.
    #[error("{0}")]
    Retryable(String),
    /// Will not succeed if repeated (access denied, no such API or stage).
    #[error("{0}")]
    Permanent(String),
}

/// A stage's side of an invalidation.
pub struct Stage {
    sdk: SdkConfig,
    client: aws_sdk_apigateway::Client,
    http: reqwest::Client,
    region: String,
}

/// Sorts an SDK error by what to do about it.
fn classify<E: ProvideErrorMetadata + std::error::Error + 'static>(
    call: &str,
    e: SdkError<E, aws_sdk_apigateway::config::http::HttpResponse>,
) -> CallError {
    let text = crate::aws_error::explain(call, &e);
    match &e {
        SdkError::ServiceError(s) => {
            let status = s.raw().status().as_u16();
            if status == 429 || status >= 500 {
                CallError::Retryable(text)
            } else {
                CallError::Permanent(text)
            }
        }
        // Timeouts, connection failures, unreadable answers: try again.
        _ => CallError::Retryable(text),
    }
}

impl Stage {
    /// The HTTP client invoke-URL requests go out on: built once per job kind, as building
    /// one loads TLS roots. Redirects are not followed: the stage answered.
    pub fn http_client() -> reqwest::Client {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default()
    }

    /// Clients for `region`, from the daemon's AWS configuration and `http`.
    pub fn new(sdk: &SdkConfig, region: &str, http: reqwest::Client) -> Self {
        let conf = aws_sdk_apigateway::config::Builder::from(sdk)
            .region(aws_config::Region::new(region.to_owned()))
            .build();
        Self {
            sdk: sdk.clone(),
            client: aws_sdk_apigateway::Client::from_conf(conf),
            http,
            region: region.to_owned(),
        }
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// The id of the REST API named `name`: exactly one must have that name.
    pub async fn rest_api_id(&self, name: &str) -> Result<String, CallError> {
        let apis: Vec<_> = self
            .client
            .get_rest_apis()
            .limit(500)
            .into_paginator()
            .items()
            .send()
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| classify("GetRestApis", e))?;
        let ids: Vec<String> = apis
            .iter()
            .filter(|a| a.name() == Some(name))
            .filter_map(|a| a.id().map(str::to_owned))
            .collect();
        match ids.as_slice() {
            [id] => Ok(id.clone()),
            [] => Err(CallError::Permanent(format!(
                "no REST API is named {name:?} in {} (only REST APIs have stage caches); set rest_api_id",
                self.region
            ))),
            _ => Err(CallError::Permanent(format!(
                "{} REST APIs are named {name:?} in {} ({}); set rest_api_id to the one meant",
                ids.len(),
                self.region,
                ids.join(", ")
            ))),
        }
    }

    /// Whether the stage has a cache (`cacheClusterEnabled`).
    pub async fn cache_enabled(&self, rest_api_id: &str, stage: &str) -> Result<bool, CallError> {
        let out = self
            .client
            .get_stage()
            .rest_api_id(rest_api_id)
            .stage_name(stage)
            .send()
            .await
            .map_err(|e| classify("GetStage", e))?;
        Ok(out.cache_cluster_enabled())
    }

    /// Empties the stage's whole cache.
    pub async fn flush(&self, rest_api_id: &str, stage: &str) -> Result<(), CallError> {
        self.client
            .flush_stage_cache()
            .rest_api_id(rest_api_id)
            .stage_name(stage)
            .send()
            .await
            .map_err(|e| match classify("FlushStageCache", e) {
                CallError::Permanent(t) if t.contains("AccessDenied") => CallError::Permanent(
                    format!("{t}; it needs apigateway:DELETE on arn:aws:apigateway:{}::/restapis/{rest_api_id}/stages/{stage}/cache/data", self.region),
                ),
                other => other,
            })?;
        Ok(())
    }

    /// Invalidates one entry: requests it at `base` with `Cache-Control: max-age=0`, signed.
    /// `arn` names the resource for the message when permission is missing.
    pub async fn invalidate(&self, base: &str, entry: &Entry, arn: &str) -> Result<(), CallError> {
        let url = format!("{base}{}", entry.path_and_query());
        let mut headers: Vec<(String, String)> = vec![("cache-control".into(), "max-age=0".into())];
        headers.extend(entry.headers.iter().cloned());
        let signed = self.sign(&entry.method, &url, &headers).await?;
        let method = reqwest::Method::from_bytes(entry.method.as_bytes())
            .map_err(|e| CallError::Permanent(e.to_string()))?;
        let mut req = self.http.request(method, &url);
        for (n, v) in headers.iter().chain(signed.iter()) {
            req = req.header(n.as_str(), v.as_str());
        }
        let res = req
            .send()
            .await
            .map_err(|e| CallError::Retryable(format!("cannot reach {url}: {e}")))?;
        let status = res.status();
        if status.is_success() || status.is_redirection() || status == 404 {
            // 404 and redirects: the method answered, and its cache entry (if any) is renewed.
            return Ok(());
        }
        let body: String = res
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(300)
            .collect();
        let said = format!(
            "{} {} answered {status}: {}",
            entry.method,
            url,
            body.trim()
        );
        Err(match status.as_u16() {
            429 | 500..=599 => CallError::Retryable(said),
            401 | 403 => CallError::Permanent(format!(
                "{said}; it needs execute-api:InvalidateCache on {arn}"
            )),
            _ => CallError::Permanent(said),
        })
    }

    /// The SigV4 headers (`authorization`, `x-amz-date`, a session token) for a request.
    async fn sign(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
    ) -> Result<Vec<(String, String)>, CallError> {
        let provider = self.sdk.credentials_provider().ok_or_else(|| {
            CallError::Permanent("no AWS credentials are configured to sign with".into())
        })?;
        let creds = provider.provide_credentials().await.map_err(|e| {
            CallError::Permanent(format!("the AWS credentials could not be loaded: {e}"))
        })?;
        let identity: Identity = creds.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("execute-api")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| CallError::Permanent(e.to_string()))?
            .into();
        let request = SignableRequest::new(
            method,
            url,
            headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
            SignableBody::Bytes(&[]),
        )
        .map_err(|e| CallError::Permanent(format!("cannot sign {url}: {e}")))?;
        let (instructions, _) = sign(request, &params)
            .map_err(|e| CallError::Permanent(format!("cannot sign {url}: {e}")))?
            .into_parts();
        Ok(instructions
            .headers()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect())
    }
}

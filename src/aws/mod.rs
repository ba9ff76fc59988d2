//! AWS SDK configuration from `[aws]`: region, optional endpoint override (an emulator),
//! optional profile. Credentials come from the SDK's default chain (environment, profile,
//! instance or task role); they are never part of cachewarden's configuration.

mod account;
mod cloudfront;

pub use crate::domain::Account;
pub use account::Accounts;
pub use cloudfront::{AwsCloudFront, CloudFrontApi, CloudFrontError, Created};

use std::sync::Arc;

use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};

use crate::config::AwsSettings;

/// The AWS the daemon talks to: the SDK's configuration (`None` when nothing configured needs
/// AWS), and stand-ins a test gave for behaviour the emulator cannot produce. Cheap to clone;
/// job kinds and sources take their clients from it.
#[derive(Clone, Default)]
pub struct Clients {
    /// The SDK's configuration per account (`None` when nothing configured needs AWS).
    accounts: Option<Arc<Accounts>>,
    /// A test's CloudFront.
    cloudfront: Option<Arc<dyn CloudFrontApi>>,
}

impl Clients {
    pub fn new(sdk: Option<SdkConfig>, cloudfront: Option<Arc<dyn CloudFrontApi>>) -> Self {
        Self {
            accounts: sdk.map(|s| Arc::new(Accounts::new(s))),
            cloudfront,
        }
    }

    /// The SDK's configuration for acting in `account` (`None`: the default chain).
    pub fn sdk(&self, account: Option<&Account>) -> Option<SdkConfig> {
        Some(self.accounts.as_ref()?.config(account))
    }

    /// CloudFront in `account`: the stand-in, or the SDK's client (which makes no call until
    /// used).
    pub fn cloudfront(&self, account: Option<&Account>) -> Option<Arc<dyn CloudFrontApi>> {
        self.cloudfront.clone().or_else(|| {
            self.sdk(account)
                .map(|sdk| Arc::new(AwsCloudFront::new(cloudfront(&sdk))) as Arc<dyn CloudFrontApi>)
        })
    }
}

pub use crate::targets::cloudfront::CLOUDFRONT_REGION;

/// A loader with cachewarden's settings applied; `load().await` it, or add to it (tests
/// supply static credentials for the emulator this way).
pub fn loader(settings: &AwsSettings) -> ConfigLoader {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = &settings.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &settings.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(endpoint) = &settings.endpoint {
        loader = loader.endpoint_url(endpoint.as_str().trim_end_matches('/'));
    }
    loader
}

/// A CloudWatch client for `region` (or the configured default).
pub fn cloudwatch(sdk: &SdkConfig, region: Option<&str>) -> aws_sdk_cloudwatch::Client {
    let mut conf = aws_sdk_cloudwatch::config::Builder::from(sdk);
    if let Some(r) = region {
        conf = conf.region(Region::new(r.to_owned()));
    }
    aws_sdk_cloudwatch::Client::from_conf(conf.build())
}

/// A CloudFront client (always us-east-1).
pub fn cloudfront(sdk: &SdkConfig) -> aws_sdk_cloudfront::Client {
    let conf = aws_sdk_cloudfront::config::Builder::from(sdk)
        .region(Region::new(CLOUDFRONT_REGION))
        .build();
    aws_sdk_cloudfront::Client::from_conf(conf)
}

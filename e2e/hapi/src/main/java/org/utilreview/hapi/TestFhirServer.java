package org.utilreview.hapi;

import ca.uhn.fhir.batch2.jobs.config.Batch2JobsConfig;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.IValidationSupport;
import ca.uhn.fhir.jpa.api.config.JpaStorageSettings;
import ca.uhn.fhir.jpa.api.config.ThreadPoolFactoryConfig;
import ca.uhn.fhir.jpa.api.dao.DaoRegistry;
import ca.uhn.fhir.jpa.api.dao.IFhirResourceDao;
import ca.uhn.fhir.jpa.api.dao.IFhirSystemDao;
import ca.uhn.fhir.jpa.batch2.JpaBatch2Config;
import ca.uhn.fhir.jpa.config.HapiJpaConfig;
import ca.uhn.fhir.jpa.config.HibernatePropertiesProvider;
import ca.uhn.fhir.jpa.config.r4.JpaR4Config;
import ca.uhn.fhir.jpa.config.util.HapiEntityManagerFactoryUtil;
import ca.uhn.fhir.jpa.model.config.PartitionSettings;
import ca.uhn.fhir.jpa.model.config.SubscriptionSettings;
import ca.uhn.fhir.jpa.model.dialect.HapiFhirH2Dialect;
import ca.uhn.fhir.jpa.provider.IJpaSystemProvider;
import ca.uhn.fhir.jpa.provider.JpaCapabilityStatementProvider;
import ca.uhn.fhir.jpa.search.DatabaseBackedPagingProvider;
import ca.uhn.fhir.jpa.subscription.channel.config.SubscriptionChannelConfig;
import ca.uhn.fhir.jpa.subscription.match.config.SubscriptionProcessorConfig;
import ca.uhn.fhir.jpa.subscription.match.deliver.email.IEmailSender;
import ca.uhn.fhir.jpa.subscription.submit.config.SubscriptionSubmitterConfig;
import ca.uhn.fhir.jpa.topic.ISubscriptionTopicLoader;
import ca.uhn.fhir.jpa.topic.SubscriptionTopicConfig;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.rest.api.server.SystemRequestDetails;
import ca.uhn.fhir.rest.server.RestfulServer;
import ca.uhn.fhir.rest.server.interceptor.RequestValidatingInterceptor;
import ca.uhn.fhir.rest.server.provider.ResourceProviderFactory;
import ca.uhn.fhir.rest.server.util.ISearchParamRegistry;
import ca.uhn.fhir.validation.IValidatorModule;
import ca.uhn.fhir.validation.ResultSeverityEnum;
import jakarta.persistence.EntityManagerFactory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import javax.sql.DataSource;
import org.hibernate.dialect.Dialect;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;
import org.hl7.fhir.dstu2.model.Subscription.SubscriptionChannelType;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.ApplicationRunner;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.web.servlet.ServletRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.Primary;
import org.springframework.orm.jpa.JpaTransactionManager;
import org.springframework.orm.jpa.LocalContainerEntityManagerFactoryBean;

/**
 * A HAPI FHIR R4 JPA server for utilreview's development and end-to-end tests: H2 in memory, REST-hook and
 * topic-based (Subscriptions Backport IG) subscriptions, and HAPI's validator on every request body.
 *
 * <p>Settings come from application.yaml under {@code utilreview.hapi}; each can be overridden by an environment
 * variable (e.g. UTILREVIEW_HAPI_VALIDATE_REQUESTS=false) or a {@code --utilreview.hapi.*=} argument.
 */
@SpringBootApplication
@Import({
	JpaR4Config.class,
	HapiJpaConfig.class,
	ThreadPoolFactoryConfig.class,
	JpaBatch2Config.class,
	Batch2JobsConfig.class,
	SubscriptionSubmitterConfig.class,
	SubscriptionProcessorConfig.class,
	SubscriptionChannelConfig.class,
	// Without this, R4 topic-based subscriptions are accepted but never fire.
	SubscriptionTopicConfig.class
})
public class TestFhirServer {

	private static final Logger log = LoggerFactory.getLogger(TestFhirServer.class);

	public static void main(String[] args) {
		long start = System.nanoTime();
		SpringApplication.run(TestFhirServer.class, args);
		log.info("utilreview test FHIR server started in {} ms", (System.nanoTime() - start) / 1_000_000);
	}

	@Bean
	public JpaStorageSettings storageSettings(@Value("${utilreview.hapi.max-page-size:500}") int maxPageSize) {
		JpaStorageSettings settings = new JpaStorageSettings();
		settings.setAllowExternalReferences(true);
		settings.setAllowMultipleDelete(true);
		settings.setExpungeEnabled(true);
		settings.setDeleteExpungeEnabled(true);
		settings.setFetchSizeDefaultMaximum(maxPageSize);
		// Tests poll searches while data changes; a reused cached result would hide new resources.
		settings.setReuseCachedSearchResultsForMillis(null);
		settings.setIndexMissingFields(JpaStorageSettings.IndexEnabledEnum.DISABLED);
		settings.setResourceClientIdStrategy(JpaStorageSettings.ClientIdStrategyEnum.ALPHANUMERIC);
		return settings;
	}

	@Bean
	public SubscriptionSettings subscriptionSettings(
			@Value("${utilreview.hapi.subscription-interval-ms:1000}") long intervalMs) {
		SubscriptionSettings settings = new SubscriptionSettings();
		settings.addSupportedSubscriptionType(SubscriptionChannelType.RESTHOOK);
		settings.setEnableInMemorySubscriptionMatching(true);
		// A new or changed Subscription is activated at once instead of on the next scheduled sync.
		settings.setSubscriptionChangeQueuedImmediately(true);
		settings.setSubscriptionIntervalInMs(intervalMs);
		return settings;
	}

	@Bean
	public PartitionSettings partitionSettings() {
		return new PartitionSettings();
	}

	@Primary
	@Bean
	public HibernatePropertiesProvider hibernatePropertiesProvider() {
		return new HibernatePropertiesProvider() {
			@Override
			public Dialect getDialect() {
				return new HapiFhirH2Dialect();
			}
		};
	}

	@Primary
	@Bean
	public LocalContainerEntityManagerFactoryBean entityManagerFactory(
			ConfigurableListableBeanFactory beanFactory,
			FhirContext fhirContext,
			JpaStorageSettings storageSettings,
			DataSource dataSource) {
		LocalContainerEntityManagerFactoryBean factory =
				HapiEntityManagerFactoryUtil.newEntityManagerFactory(beanFactory, fhirContext, storageSettings);
		Map<String, Object> props = new HashMap<>();
		props.put("hibernate.dialect", HapiFhirH2Dialect.class.getName());
		props.put("hibernate.hbm2ddl.auto", "update");
		props.put("hibernate.archive.scanner", "org.hibernate.boot.archive.scan.internal.DisabledScanner");
		props.put("hibernate.jdbc.batch_size", "20");
		props.put("hibernate.cache.use_query_cache", "false");
		props.put("hibernate.cache.use_second_level_cache", "false");
		props.put("hibernate.format_sql", "false");
		props.put("hibernate.show_sql", "false");
		props.put("hibernate.search.enabled", "false");
		factory.setPersistenceUnitName("HAPI_PU");
		factory.setJpaPropertyMap(props);
		factory.setDataSource(dataSource);
		return factory;
	}

	@Primary
	@Bean
	public JpaTransactionManager transactionManager(EntityManagerFactory entityManagerFactory) {
		return new JpaTransactionManager(entityManagerFactory);
	}

	/** Email channels are not enabled; the subscription delivery factory still needs a sender. */
	@Bean
	public IEmailSender emailSender() {
		return details -> {};
	}

	@Bean
	public RestfulServer restfulServer(
			IFhirSystemDao<?, ?> systemDao,
			ResourceProviderFactory resourceProviders,
			IJpaSystemProvider systemProvider,
			JpaStorageSettings storageSettings,
			ISearchParamRegistry searchParamRegistry,
			IValidationSupport validationSupport,
			DatabaseBackedPagingProvider pagingProvider,
			IValidatorModule validatorModule,
			@Value("${utilreview.hapi.default-page-size:20}") int defaultPageSize,
			@Value("${utilreview.hapi.max-page-size:500}") int maxPageSize,
			@Value("${utilreview.hapi.validate-requests:true}") boolean validateRequests,
			@Value("${utilreview.hapi.unknown-profiles-are-errors:false}") boolean unknownProfilesAreErrors) {
		// Keep the version of a Provenance's target (Task/1/_history/2): it says
		// which Task version the Provenance attests, e.g. its completion. HAPI
		// strips versions from references by default.
		systemDao.getContext().getParserOptions().setDontStripVersionsFromReferencesAtPaths("Provenance.target");
		RestfulServer server = new RestfulServer(systemDao.getContext());
		server.registerProviders(resourceProviders.createProviders());
		server.registerProvider(systemProvider);
		JpaCapabilityStatementProvider capabilities = new JpaCapabilityStatementProvider(
				server, systemDao, storageSettings, searchParamRegistry, validationSupport);
		capabilities.setImplementationDescription("utilreview test FHIR server (HAPI FHIR R4)");
		server.setServerConformanceProvider(capabilities);
		server.setDefaultResponseEncoding(EncodingEnum.JSON);

		pagingProvider.setDefaultPageSize(defaultPageSize);
		pagingProvider.setMaximumPageSize(maxPageSize);
		server.setPagingProvider(pagingProvider);

		if (validatorModule instanceof FhirInstanceValidator instanceValidator) {
			// The server has only the R4 base definitions: a meta.profile of an IG it does not hold (the
			// Subscriptions Backport profile, Da Vinci PAS) would otherwise make every such write an error.
			instanceValidator.setErrorForUnknownProfiles(unknownProfilesAreErrors);
		}
		if (validateRequests) {
			// Every create, update and transaction body is checked by the reference validator against the
			// R4 base definitions (and any profiles stored on the server); errors are answered with a
			// 422 OperationOutcome and nothing is stored.
			RequestValidatingInterceptor validating = new RequestValidatingInterceptor();
			validating.setValidatorModules(List.of(validatorModule));
			validating.setFailOnSeverity(ResultSeverityEnum.ERROR);
			validating.setAddResponseHeaderOnSeverity(null);
			validating.setAddResponseOutcomeHeaderOnSeverity(null);
			server.registerInterceptor(validating);
		}
		log.info(
				"request validation {}, unknown profiles are {}",
				validateRequests ? "on" : "off",
				unknownProfilesAreErrors ? "errors" : "warnings");
		return server;
	}

	@Bean
	public ServletRegistrationBean<RestfulServer> fhirServlet(RestfulServer server) {
		ServletRegistrationBean<RestfulServer> registration = new ServletRegistrationBean<>(server, "/fhir/*");
		registration.setLoadOnStartup(1);
		return registration;
	}

	/**
	 * Stores every resource found in the topics directory (R4 SubscriptionTopics are Basic resources, see the
	 * Subscriptions Backport IG) with its own id, then makes the topic registry read them at once rather than at
	 * its next scheduled sync a minute later.
	 */
	@Bean
	public ApplicationRunner topicLoader(
			@Value("${utilreview.hapi.topics-dir:}") String topicsDir,
			FhirContext fhirContext,
			DaoRegistry daoRegistry,
			ISubscriptionTopicLoader topicRegistryLoader) {
		return args -> {
			if (topicsDir.isBlank()) {
				log.info("no topics directory configured");
				return;
			}
			List<Path> files;
			try (Stream<Path> listing = Files.list(Path.of(topicsDir))) {
				files = listing.filter(p -> p.toString().endsWith(".json")).sorted().toList();
			}
			for (Path file : files) {
				IBaseResource resource = fhirContext.newJsonParser().parseResource(read(file));
				IFhirResourceDao<IBaseResource> dao = daoRegistry.getResourceDao(resource);
				dao.update(resource, new SystemRequestDetails());
				log.info("loaded {} from {}", resource.getIdElement().toUnqualifiedVersionless(), file.getFileName());
			}
			topicRegistryLoader.forceRefresh();
		};
	}

	private static String read(Path file) throws IOException {
		return Files.readString(file, StandardCharsets.UTF_8);
	}
}
